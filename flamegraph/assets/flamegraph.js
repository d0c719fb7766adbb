// Interactivity for one flame graph rendered by gofil's flamegraph package.
// This file is a function expression; the SVG calls it with the id of its
// <svg> element. Everything it needs about a frame comes from the frame's
// data- attributes and <title>, never from generated JavaScript.
(function (id) {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById(id);
  if (!svg && document.currentScript) {
    svg = document.currentScript.ownerSVGElement;
  }
  if (!svg) {
    return;
  }

  function num(el, name) {
    return Number(el.getAttribute("data-" + name));
  }
  function one(cls) {
    return svg.querySelector("." + cls);
  }

  var xpad = num(svg, "xpad");
  var width = num(svg, "fw");
  var charW = num(svg, "cw");
  var textPad = num(svg, "tp");
  var textDY = num(svg, "ty");
  var total = num(svg, "total");
  var unit = svg.getAttribute("data-unit") || "bytes";
  var details = one("fg-details");
  var matched = one("fg-matched");
  var resetBtn = one("fg-reset");
  var searchBtn = one("fg-search");
  var idle = details ? details.textContent : "";

  var frames = [];
  var byG = new Map();
  var root = null;
  Array.prototype.forEach.call(svg.querySelectorAll("g.f"), function (g) {
    var title = g.querySelector("title");
    var lines = title ? title.textContent.split("\n") : [""];
    var f = {
      g: g,
      rect: g.querySelector("rect"),
      veil: g.querySelector("rect.fg-g"),
      lv: num(g, "lv"),
      text: g.querySelector("text"),
      name: lines[0],
      label: g.getAttribute("data-l") || lines[0],
      info: lines.map(function (l) { return l.trim(); })
        .filter(function (l) { return l !== ""; }).join("  |  "),
      s: num(g, "s"),
      v: num(g, "v"),
      d: num(g, "d"),
      special: g.classList.contains("r") || g.classList.contains("o")
    };
    if (f.d === 0) {
      root = f;
    }
    frames.push(f);
    byG.set(g, f);
  });

  // Keep in step with appendGrouped and appendHuman in format.go.
  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function human(n) {
    if (unit !== "bytes") {
      return grouped(n) + " " + unit;
    }
    if (n < 1024) {
      return n + " B";
    }
    var units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    var f = n / 1024, i = 0;
    while (f >= 1024 && i < units.length - 1) {
      f /= 1024;
      i++;
    }
    return f.toFixed(i >= 2 ? 2 : 1) + " " + units[i];
  }

  // Keep in step with fitLabel in format.go.
  function fit(name, w) {
    var n = Math.floor((w - 2 * textPad) / charW);
    if (n < 3) {
      return "";
    }
    return name.length <= n ? name : name.slice(0, n - 2) + "..";
  }

  function place(f, x, w) {
    f.rect.setAttribute("x", x.toFixed(2));
    f.rect.setAttribute("width", w.toFixed(2));
    if (f.veil && f.v > 0) {
      // The garbage part of the box, paler, at its right end.
      var lw = w * f.lv / f.v;
      f.veil.setAttribute("x", (x + lw).toFixed(2));
      f.veil.setAttribute("width", (w - lw).toFixed(2));
    }
    var label = fit(f.label, w);
    if (!f.text) {
      if (label === "") {
        return;
      }
      f.text = document.createElementNS(SVGNS, "text");
      f.text.setAttribute("y", String(Number(f.rect.getAttribute("y")) + textDY));
      f.g.appendChild(f.text);
    }
    f.text.setAttribute("x", (x + textPad).toFixed(2));
    f.text.textContent = label;
  }

  // zoom makes f span the full width. Its ancestors span it too, greyed;
  // its descendants are laid out again; every other frame is hidden.
  function zoom(f) {
    if (!f || !(f.v > 0)) {
      return;
    }
    var s0 = f.s, e0 = f.s + f.v;
    frames.forEach(function (o) {
      var c = o.g.classList, e = o.s + o.v;
      if (o.d < f.d && o.s <= s0 && e >= e0) {
        c.remove("h");
        c.add("a");
        place(o, xpad, width);
      } else if (o.d >= f.d && o.s >= s0 && e <= e0) {
        c.remove("h");
        c.remove("a");
        place(o, xpad + (o.s - s0) / f.v * width, o.v / f.v * width);
      } else {
        c.add("h");
        c.remove("a");
      }
    });
    if (resetBtn) {
      resetBtn.classList.toggle("h", f === root);
    }
  }

  function reset() {
    zoom(root);
  }

  var searching = false;

  function clearSearch() {
    frames.forEach(function (o) { o.g.classList.remove("m"); });
    if (matched) {
      matched.textContent = " ";
    }
    if (searchBtn) {
      searchBtn.textContent = "Search";
    }
    searching = false;
  }

  // search highlights the frames whose function name matches term, a
  // RegExp or its source, and reports the bytes under them. A match nested
  // inside another match is not counted twice. An empty term clears.
  function search(term) {
    if (term === undefined || term === null || term === "") {
      clearSearch();
      return null;
    }
    var re;
    try {
      re = term instanceof RegExp ? term : new RegExp(String(term));
    } catch (err) {
      if (details) {
        details.textContent = "Search: " + err.message;
      }
      return null;
    }
    var hits = [];
    frames.forEach(function (o) {
      re.lastIndex = 0;
      var hit = !o.special && re.test(o.name);
      o.g.classList.toggle("m", hit);
      if (hit) {
        hits.push(o);
      }
    });
    // Matches form a nested family of byte ranges: sorted by start, outer
    // first, a match starting before the end of the last counted one lies
    // inside it.
    hits.sort(function (a, b) { return a.s - b.s || b.v - a.v || a.d - b.d; });
    var bytes = 0, end = 0;
    hits.forEach(function (o) {
      if (o.s >= end) {
        bytes += o.v;
        end = o.s + o.v;
      }
    });
    var percent = total > 0 ? 100 * bytes / total : 0;
    if (matched) {
      matched.textContent = "Matched: " + percent.toFixed(1) + "% (" + human(bytes) + ")";
    }
    if (searchBtn) {
      searchBtn.textContent = "Reset Search";
    }
    searching = true;
    return { bytes: bytes, percent: percent, frames: hits.length };
  }

  function frameOf(ev) {
    var g = ev.target && ev.target.closest ? ev.target.closest("g.f") : null;
    return g ? byG.get(g) : undefined;
  }

  svg.addEventListener("mouseover", function (ev) {
    var f = frameOf(ev);
    if (f && details) {
      details.textContent = f.info;
    }
  });
  svg.addEventListener("mouseout", function (ev) {
    if (frameOf(ev) && details) {
      details.textContent = idle;
    }
  });
  svg.addEventListener("click", function (ev) {
    var f = frameOf(ev);
    if (f) {
      zoom(f);
    } else if (resetBtn && ev.target === resetBtn) {
      reset();
    } else if (searchBtn && ev.target === searchBtn) {
      if (searching) {
        clearSearch();
      } else {
        var term = window.prompt("Search function names (regular expression):", "");
        if (term) {
          search(term);
        }
      }
    }
  });

  window[id + "_search"] = search;
  window[id + "_clearSearch"] = clearSearch;
  window[id + "_reset"] = reset;
})
