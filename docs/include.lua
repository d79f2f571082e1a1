-- include.lua - pandoc filter: fills a code block from a file of the lab.
--
--   ```{.c include="solutions/02-racy-counter/counter.c" from="^int counter_add" to="^}"}
--   ```
--
-- takes the file (paths from the project's root), or, with `from` and `to`
-- (Lua patterns), the lines from the first that matches `from` through the
-- first after it that matches `to`. The book shows the code the tests run:
-- a missing file or a pattern that matches nothing stops the build.

local function read_lines(path)
  local file = io.open(path, "r")
  if not file then
    error("include: cannot open " .. path)
  end
  local lines = {}
  for line in file:lines() do
    lines[#lines + 1] = line
  end
  file:close()
  return lines
end

function CodeBlock(block)
  local path = block.attributes.include
  if not path then
    return nil
  end
  local lines = read_lines(path)
  local from, to = block.attributes.from, block.attributes.to
  local first, last = 1, #lines
  if from then
    first = nil
    for i, line in ipairs(lines) do
      if line:find(from) then first = i; break end
    end
    if not first then
      error("include: no line of " .. path .. " matches from=\"" .. from .. "\"")
    end
    last = nil
    for i = first + 1, #lines do
      if lines[i]:find(to or "^}") then last = i; break end
    end
    if not last then
      error("include: no line of " .. path .. " after line " .. first ..
            " matches to=\"" .. (to or "^}") .. "\"")
    end
  end
  block.text = table.concat(lines, "\n", first, last)
  block.attributes.include, block.attributes.from, block.attributes.to = nil, nil, nil
  return block
end
