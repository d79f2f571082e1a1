// probe.js - the book's check (tests/shmlab/book.py, renders) adds this to a copy of a
// page: once the page has loaded, it writes what the browser made of it
// into the page, where chromium's --dump-dom shows it.
window.addEventListener("load", function () {
  var root = getComputedStyle(document.documentElement);
  var images = Array.prototype.slice.call(document.images);
  var result = {
    text: document.body.innerText.length,
    sheet: root.getPropertyValue("--shmlab-book").trim(),
    font: getComputedStyle(document.body).fontFamily.split(",")[0].replace(/"/g, ""),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    highlighted: document.querySelectorAll("pre.sourceCode span").length,
    brokenImages: images.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length
  };
  var out = document.createElement("pre");
  out.id = "book-probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
