// Chart hover values (the only script; every page works without it).
document.addEventListener("mousemove", function (e) {
  var tip = document.getElementById("tip");
  var pt = e.target.closest && e.target.closest("[data-tip]");
  if (!pt) { if (tip) tip.hidden = true; return; }
  if (!tip) { tip = document.createElement("div"); tip.id = "tip"; tip.className = "tip"; document.body.appendChild(tip); }
  tip.textContent = pt.getAttribute("data-tip");
  tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px"; tip.hidden = false;
});
