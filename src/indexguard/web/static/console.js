// Keyboard shortcuts for the console. The pages work without this file.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target.tagName;
    return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || e.target.isContentEditable;
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-href]")); }
  var current = 0;
  function mark(i) {
    var rs = rows();
    if (!rs.length) { return; }
    current = Math.max(0, Math.min(i, rs.length - 1));
    rs.forEach(function (r, j) { r.classList.toggle("current", j === current); });
    rs[current].scrollIntoView({ block: "nearest" });
  }
  function click(id) { var b = document.getElementById(id); if (b && !b.disabled) { b.click(); } }
  document.addEventListener("DOMContentLoaded", function () {
    mark(0);
    rows().forEach(function (r, i) {
      r.addEventListener("click", function (e) {
        if (e.target.tagName === "INPUT" || e.target.tagName === "A") { return; }
        mark(i); window.location = r.dataset.href;
      });
    });
  });
  document.addEventListener("keydown", function (e) {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var rs = rows();
    if (e.key === "j") { mark(current + 1); }
    else if (e.key === "k") { mark(current - 1); }
    else if (e.key === "Enter" && rs.length) { window.location = rs[current].dataset.href; }
    else if (e.key === "r") { click("btn-remove"); }
    else if (e.key === "d") { click("btn-dismiss"); }
    else if (e.key === "n") { var n = document.getElementById("next-case"); if (n) { window.location = n.href; } }
    else if (e.key === "?") { alert("j/k: move in the queue\nEnter: open case\nr: confirm and remove\nd: dismiss as false positive\nn: next case"); }
    else { return; }
    e.preventDefault();
  });
})();
