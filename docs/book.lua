-- book.lua - pandoc filter: turns a lesson text (or a page of docs/) into a
-- chapter of the book, for one edition. Run before include.lua.
--
-- Metadata it reads (pandoc -M, or --metadata-file):
--   edition   student: the solution is left out (every ::: solution div,
--                      and every exercise's ::: answer div),
--                      and including a file of solutions/ (or of
--                      docs/python/fixes/) anywhere else
--                      stops the build, so the student edition cannot
--                      show a solution by mistake;
--             full:    the solution stays, answers are folded under the
--                      exercises, and each of the lesson's files
--                      gets the whole diff, starter to solution, after it.
--   lesson    the lesson's directory name (05-shareable-list), for the diff;
--   files     its editable files, space-separated (from lessons/lessons.toml);
--   title     made the chapter's first heading, every other heading one
--             level down (a lesson's comes from lessons/lessons.toml, through
--             the metadata file tests/shmlab/book.py writes; a page of docs/
--             has its own, in its front matter);
--   hints     a list (Markdown), shown one per folded box, before the
--             solution (a lesson's, from lessons/lessons.toml);
--   target    book (the default): links go to the book's pages, below;
--             kit: the text is a file of the student kit (lessons/NN-slug.md),
--             so links stay as the text has them, relative to lessons/.
-- Links, in the book: a link to another text of the book (01-unshared-list.md,
-- ../docs/manager-protocol.md) goes to its page (01-unshared-list.html); an
-- image of docs/figures/ is taken from the book's figures/.

local edition, lesson, files, target

local function text_of(value)
  if value == nil then return nil end
  return pandoc.utils.stringify(value)
end

local function read_meta(meta)
  edition = text_of(meta.edition) or "full"
  if edition ~= "student" and edition ~= "full" then
    error("book.lua: edition must be student or full, not " .. edition)
  end
  lesson = text_of(meta.lesson)
  target = text_of(meta.target) or "book"
  if target ~= "book" and target ~= "kit" then
    error("book.lua: target must be book or kit, not " .. target)
  end
  files = {}
  for f in (text_of(meta.files) or ""):gmatch("%S+") do
    files[#files + 1] = f
  end
end

local function book_target(target)
  local page, anchor = target:match("^([%w%-_]+)%.md(#?.*)$")
  if not page then
    page, anchor = target:match("^%.%./docs/([%w%-_]+)%.md(#?.*)$")
  end
  if not page then
    page, anchor = target:match("^%.%./lessons/([%w%-_]+)%.md(#?.*)$")
  end
  if page then
    return page .. ".html" .. anchor
  end
  return nil
end

local function hints_blocks(meta)
  if meta.hints == nil then return {} end
  local blocks = {pandoc.Header(1, "Hints", pandoc.Attr("hints"))}
  blocks[#blocks + 1] = pandoc.Para(pandoc.Str(
    "Stuck? Open one hint at a time; each says a little more than the last."))
  for i, hint in ipairs(meta.hints) do
    blocks[#blocks + 1] = pandoc.RawBlock("html",
      '<details class="hint"><summary>Hint ' .. i .. "</summary>")
    if hint.t == "MetaBlocks" then
      for _, b in ipairs(hint) do blocks[#blocks + 1] = b end
    else
      blocks[#blocks + 1] = pandoc.Para(hint)
    end
    blocks[#blocks + 1] = pandoc.RawBlock("html", "</details>")
  end
  return blocks
end

local function diff_blocks()
  local blocks = {pandoc.Header(2, "The whole change", pandoc.Attr("the-whole-change"))}
  for _, f in ipairs(files) do
    local a = "starter/" .. lesson .. "/" .. f
    local b = "solutions/" .. lesson .. "/" .. f
    local pipe = io.popen("diff -u --label '" .. a .. "' --label '" .. b .. "' '" ..
                          a .. "' '" .. b .. "'")
    local text = pipe:read("a")
    pipe:close()
    if text == "" then
      error("book.lua: " .. a .. " and " .. b .. " are the same: nothing to show")
    end
    blocks[#blocks + 1] = pandoc.Para({pandoc.Str("From the starter's "),
      pandoc.Code(f), pandoc.Str(" to the solution's, every line that changed:")})
    blocks[#blocks + 1] = pandoc.CodeBlock(text:gsub("\n$", ""), pandoc.Attr("", {"diff"}))
  end
  return blocks
end

local function is_solution(block)
  return block.t == "Div" and block.classes:includes("solution")
end

-- Every heading one level down; the title becomes the chapter's heading.
local function shift(blocks)
  return pandoc.walk_block(pandoc.Div(blocks), {
    Header = function(h) h.level = h.level + 1; return h end,
  }).content
end

-- An exercise's answer (a ::: answer div, anywhere, in a list item too): folded
-- in the full edition, left out of the student edition.
local function answers(blocks)
  return pandoc.walk_block(pandoc.Div(blocks), {
    Div = function(div)
      if not div.classes:includes("answer") then return nil end
      if edition ~= "full" then return {} end
      local folded = {pandoc.RawBlock("html", '<details class="answer"><summary>Answer</summary>')}
      for _, b in ipairs(div.content) do folded[#folded + 1] = b end
      folded[#folded + 1] = pandoc.RawBlock("html", "</details>")
      return folded
    end,
  }).content
end

function Pandoc(doc)
  read_meta(doc.meta)
  local out = {}
  local hints = hints_blocks(doc.meta)
  local placed_hints = false
  for _, block in ipairs(doc.blocks) do
    if is_solution(block) then
      for _, b in ipairs(hints) do out[#out + 1] = b end
      placed_hints = true
      if edition == "full" then
        out[#out + 1] = block
        if lesson and #files > 0 then
          for _, b in ipairs(diff_blocks()) do out[#out + 1] = b end
        end
      else
        out[#out + 1] = pandoc.Div({pandoc.Para({
          pandoc.Strong(pandoc.Str("The fix is not in this edition.")),
          pandoc.Space(),
          pandoc.Str("Find it yourself: the hints above, the tests' messages ("),
          pandoc.Code("make grade LESSON=" .. (lesson or "NN"):sub(1, 2)),
          pandoc.Str(") and the exercises below lead there. The full edition of the book, "
                     .. "for instructors and readers on their own, has it.")})},
          pandoc.Attr("", {"no-solution"}))
      end
    else
      out[#out + 1] = block
    end
  end
  if not placed_hints then
    for _, b in ipairs(hints) do out[#out + 1] = b end
  end

  out = answers(out)

  -- The student edition must not show a solution, whatever the text does.
  if edition == "student" then
    pandoc.walk_block(pandoc.Div(out), {
      CodeBlock = function(c)
        local path = c.attributes.include or ""
        if path:match("^solutions/") or path:match("^docs/python/fixes/") then
          error("book.lua: " .. path .. " is included outside a ::: solution div: the "
                .. "student edition would show it")
        end
      end,
    })
  end

  local title = doc.meta.title
  if title then
    local id = text_of(doc.meta.chapter) or ""
    local heading = pandoc.Header(1, title.t == "MetaInlines" and title or
                                     pandoc.Str(text_of(title)), pandoc.Attr(id))
    out = shift(out)
    table.insert(out, 1, heading)
  end
  doc.blocks = out
  return doc
end

function Link(link)
  if target == "kit" then return nil end
  local page = book_target(link.target)
  if page then link.target = page end
  return link
end

function Image(image)
  if target == "kit" then return nil end
  local name = image.src:match("docs/figures/([%w%-_%.]+)$")
  if name then image.src = "figures/" .. name end
  return image
end

-- Pandoc runs a filter's Link and Image before its Meta and Pandoc: three
-- filters, in this order, so that the links' pass knows the target.
return {
  {Meta = function(meta) read_meta(meta) end},
  {Link = Link, Image = Image},
  {Pandoc = Pandoc},
}
