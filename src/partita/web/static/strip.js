// Hover tooltip of the partition health strip (the title attribute is the fallback).
(function () {
  "use strict";
  var tip = document.getElementById("tooltip");
  var strip = document.getElementById("strip");
  if (!tip || !strip) { return; }
  strip.addEventListener("mousemove", function (event) {
    var seg = event.target.closest(".seg");
    if (!seg) { tip.style.display = "none"; return; }
    if (!seg.dataset.tip) { seg.dataset.tip = seg.getAttribute("title"); seg.removeAttribute("title"); }
    tip.textContent = seg.dataset.tip;
    tip.style.left = Math.min(event.clientX + 12, window.innerWidth - 430) + "px";
    tip.style.top = (event.clientY + 16) + "px";
    tip.style.display = "block";
  });
  strip.addEventListener("mouseleave", function () { tip.style.display = "none"; });
})();
