-- epub.lua - pandoc filter for the EPUB: in one file, a link to another
-- chapter's page (05-shareable-list.html#the-trap) becomes a link to the
-- chapter's heading (#chapter-05-shareable-list): section names repeat across chapters.
function Link(link)
  local page, anchor = link.target:match("^([%w%-_]+)%.html#?(.*)$")
  if page then
    link.target = "#chapter-" .. page  -- section anchors repeat across chapters
  end
  return link
end
