// Live progress on the overview (the page works without it): listens to
// /events, shows each running base's stage, percent and speed on its card
// (section[data-base]), and when a run ends fetches the overview again and
// puts the new card in place, keeping a "done" line. Same origin only.
(function () {
  if (!window.EventSource || !document.querySelector("section[data-base]")) return;
  function card(base) {
    var all = document.querySelectorAll("section[data-base]");
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-base") === base) return all[i];
    return null;
  }
  function line(c) {
    var l = c.querySelector(".live");
    if (!l) {
      l = document.createElement("div");
      l.className = "live";
      l.setAttribute("role", "status");
      l.innerHTML = '<progress max="100"></progress> <span></span>';
      c.appendChild(l);
    }
    return l;
  }
  function size(n) {
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n.toFixed(0)) + " " + u[i];
  }
  var es = new EventSource("/events");
  es.addEventListener("progress", function (e) {
    var d = JSON.parse(e.data), c = card(d.base);
    if (!c) return;
    var l = line(c), bar = l.querySelector("progress"), text = d.label || d.stage;
    var act = c.querySelector("form.act");
    if (act) act.hidden = true;
    l.setAttribute("data-state", "running");
    l.setAttribute("data-stage", d.stage);
    if (d.percent != null) { bar.value = d.percent; text += " " + d.percent.toFixed(0) + " %"; }
    else bar.removeAttribute("value");
    if (d.speed) text += " · " + size(d.speed) + "/s";
    l.querySelector("span").textContent = text;
  });
  // The card as the overview now renders it; while the server still
  // shows the run as going (its state refreshes within seconds), ask again.
  function refresh(d, tries) {
    fetch(location.pathname + location.search, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = null, all = doc.querySelectorAll("section[data-base]");
        for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-base") === d.base) fresh = all[i];
        if (fresh && fresh.querySelector(".badge.busy") && tries > 0) {
          setTimeout(function () { refresh(d, tries - 1); }, 700);
          return;
        }
        var now = card(d.base);
        if (fresh && now) { now.replaceWith(fresh); now = fresh; }
        if (!now) return;
        var l = line(now), bar = l.querySelector("progress");
        bar.value = 100;
        l.setAttribute("data-status", d.status);
        if (d.run_id != null) l.setAttribute("data-run-id", d.run_id);
        l.querySelector("span").textContent = "✓ " + (d.label || d.status);
        l.setAttribute("data-state", "done");
      });
  }
  es.addEventListener("finished", function (e) {
    var d = JSON.parse(e.data);
    if (card(d.base)) refresh(d, 15);
  });
})();
