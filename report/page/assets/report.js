// The report page's behaviour: the search box that drives both
// flamegraphs, the timeline's readout and zoom, the sortable table of
// allocation sites and the call graph's fit toggle. Every value it shows
// comes from the page's elements or its JSON data, never from generated
// JavaScript.
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";

  function byId(id) {
    return document.getElementById(id);
  }

  // Keep in step with Bytes in internal/units: two decimals from a GiB on.
  function human(n) {
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

  // --- Search ---------------------------------------------------------
  // The flamegraphs' scripts put <id>_search, <id>_clearSearch and
  // <id>_reset on window.
  var graphs = ["peak", "peakrev"];
  // shownHeap names the heap the flame graph shows, for the search's
  // result: the peak's, or another mark's (setupMoments).
  var shownHeap = "the heap at the peak";

  function call(id, name, arg) {
    var fn = window[id + "_" + name];
    return typeof fn === "function" ? fn(arg) : undefined;
  }

  function setupSearch() {
    var form = byId("search-form");
    var input = byId("search");
    var out = byId("search-result");
    var clearBtn = byId("search-clear");
    if (!form || !input || !out) {
      return;
    }
    function show(text, cls, percent) {
      out.textContent = text;
      out.className = cls;
      if (percent === null) {
        out.removeAttribute("data-percent");
      } else {
        out.setAttribute("data-percent", String(percent));
      }
    }
    function clear() {
      graphs.forEach(function (id) { call(id, "clearSearch"); });
      show("", "", null);
    }
    // search highlights the functions matching term, a regular expression
    // that ignores case unless it holds an upper-case letter, in both
    // graphs, and returns what flamegraph's search reports for the first.
    function search(term) {
      term = term === undefined || term === null ? "" : String(term);
      if (term === "") {
        clear();
        return null;
      }
      var re;
      try {
        re = new RegExp(term, /[A-Z]/.test(term) ? "" : "i");
      } catch (err) {
        show("Not a regular expression: " + err.message, "error", null);
        return null;
      }
      var result = null;
      graphs.forEach(function (id, i) {
        var r = call(id, "search", re);
        if (i === 0) {
          result = r || null;
        }
      });
      if (!result) {
        show("", "", null);
        return null;
      }
      if (result.frames === 0) {
        show("No function matches.", "", 0);
      } else {
        show("Matched " + result.percent.toFixed(1) + "% of " + shownHeap + " (" + human(result.bytes) +
          ") in " + result.frames + (result.frames === 1 ? " frame" : " frames") + ".", "hit", result.percent);
      }
      return result;
    }
    var timer = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(input.value); }, 250);
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(timer);
      search(input.value);
    });
    if (clearBtn) {
      clearBtn.addEventListener("click", function () {
        input.value = "";
        clearTimeout(timer);
        clear();
      });
    }
    window.gofilSearch = search;
  }

  // --- Sortable table -------------------------------------------------
  function setupTable() {
    var table = byId("sites-table");
    if (!table || !table.tBodies.length) {
      return;
    }
    var body = table.tBodies[0];
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    Array.prototype.forEach.call(body.rows, function (row, i) {
      row.setAttribute("data-i", String(i));
    });
    function sortBy(col) {
      var th = heads[col];
      var num = th.getAttribute("data-type") === "num";
      var cur = th.getAttribute("aria-sort");
      var dir;
      if (cur === "descending") {
        dir = "ascending";
      } else if (cur === "ascending") {
        dir = "descending";
      } else {
        dir = num ? "descending" : "ascending";
      }
      var sign = dir === "ascending" ? 1 : -1;
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v");
        var y = b.cells[col].getAttribute("data-v");
        var c = num ? Number(x) - Number(y) : (x < y ? -1 : x > y ? 1 : 0);
        return sign * c || Number(a.getAttribute("data-i")) - Number(b.getAttribute("data-i"));
      });
      rows.forEach(function (r) { body.appendChild(r); });
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
    }
    heads.forEach(function (th, col) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(col); });
      th.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          sortBy(col);
        }
      });
    });
  }

  // --- Timeline -------------------------------------------------------
  // Keep in step with niceStep, timeTicks and timeLabel in timeline.go.
  function niceStep(rough) {
    if (!(rough > 0) || !isFinite(rough)) {
      return 1;
    }
    var p = Math.pow(10, Math.floor(Math.log10(rough)));
    var mults = [1, 2, 5, 10];
    for (var i = 0; i < mults.length; i++) {
      if (mults[i] * p >= rough * 0.999) {
        return mults[i] * p;
      }
    }
    return 10 * p;
  }
  function timeLabel(v, step) {
    if (step < 1) {
      return String(Math.round(v * 1000) / 1000) + " ms";
    }
    var decimals = 0;
    for (var s = step; s < 1000 && decimals < 3; s *= 10) {
      decimals++;
    }
    return (v / 1000).toFixed(decimals) + " s";
  }
  function seconds(msec) {
    return msec < 1000 ? msec.toFixed(1) + " ms" : (msec / 1000).toFixed(3) + " s";
  }

  // nearest returns the index of the value in sorted t closest to v.
  function nearest(t, v) {
    var lo = 0, hi = t.length - 1;
    if (hi < 0) {
      return -1;
    }
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (t[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo > 0 && Math.abs(t[lo - 1] - v) <= Math.abs(t[lo] - v)) {
      lo--;
    }
    return lo;
  }

  function setupTimeline() {
    var svg = byId("timeline");
    var dataEl = byId("timeline-data");
    if (!svg || !dataEl) {
      return;
    }
    var data = JSON.parse(dataEl.textContent);
    var plot = svg.querySelector("svg.tl-plot");
    var xaxis = svg.querySelector("g.tl-xaxis");
    var cursor = svg.querySelector(".tl-cursor");
    var select = svg.querySelector(".tl-select");
    var hit = svg.querySelector(".tl-hit");
    var readout = byId("timeline-readout");
    var left = Number(plot.getAttribute("x")), top = Number(plot.getAttribute("y"));
    var width = Number(plot.getAttribute("width")), height = Number(plot.getAttribute("height"));
    var units = Number(plot.getAttribute("viewBox").split(" ")[3]);
    var view = { from: 0, to: data.xmax };

    function toX(msec) {
      return left + (msec - view.from) / (view.to - view.from) * width;
    }
    function toMs(x) {
      return view.from + (x - left) / width * (view.to - view.from);
    }

    function drawAxis() {
      while (xaxis.firstChild) {
        xaxis.removeChild(xaxis.firstChild);
      }
      var step = niceStep((view.to - view.from) / 8);
      for (var v = Math.ceil(view.from / step) * step; v <= view.to + step * 1e-9; v += step) {
        var x = toX(v).toFixed(1);
        var tick = document.createElementNS(SVGNS, "line");
        tick.setAttribute("class", "tl-tick");
        tick.setAttribute("x1", x);
        tick.setAttribute("x2", x);
        tick.setAttribute("y1", String(top + height));
        tick.setAttribute("y2", String(top + height + 5));
        xaxis.appendChild(tick);
        var label = document.createElementNS(SVGNS, "text");
        label.setAttribute("x", x);
        label.setAttribute("y", String(top + height + 18));
        label.setAttribute("text-anchor", "middle");
        label.textContent = timeLabel(v, step);
        xaxis.appendChild(label);
      }
    }

    function placeMarks() {
      Array.prototype.forEach.call(svg.querySelectorAll(".tl-mark-label"), function (el) {
        var m = data.marks[Number(el.getAttribute("data-mark"))];
        if (!m || m.ms < view.from || m.ms > view.to) {
          el.setAttribute("visibility", "hidden");
          return;
        }
        el.removeAttribute("visibility");
        var x = toX(m.ms);
        var end = x > left + width * 0.8;
        el.setAttribute("text-anchor", end ? "end" : "start");
        el.setAttribute("x", (end ? x - 4 : x + 4).toFixed(1));
      });
    }

    // zoom shows the stretch of the run from..to, in milliseconds.
    function zoom(from, to) {
      from = Math.max(0, Number(from));
      to = Math.min(data.xmax, Number(to));
      if (!(to - from >= 1)) {
        return false;
      }
      view.from = from;
      view.to = to;
      plot.setAttribute("viewBox", from + " 0 " + (to - from) + " " + units);
      drawAxis();
      placeMarks();
      return true;
    }

    function svgX(ev) {
      var m = svg.getScreenCTM();
      if (!m) {
        return null;
      }
      var p = svg.createSVGPoint();
      p.x = ev.clientX;
      p.y = ev.clientY;
      return p.matrixTransform(m.inverse()).x;
    }

    function describe(msec) {
      var out = "";
      var i = nearest(data.t, msec);
      if (i >= 0) {
        out = "at " + seconds(data.t[i]) + ": RSS " + human(data.rss[i]) + ", Go heap " + human(data.heap[i]) +
          ", outside the heap " + human(data.outside[i]) +
          (data.beyond[i] ? ", runtime beyond objects " + human(data.beyond[i]) : "");
      }
      var j = nearest(data.ext_t, msec);
      if (j >= 0) {
        out += (out ? "; " : "at " + seconds(data.ext_t[j]) + ": ") + "RSS read by gofil " + human(data.ext_rss[j]);
      }
      return out;
    }

    var dragFrom = null;
    // A click picks a moment once it is sure not to be half of a
    // double-click, which resets the zoom instead.
    var clickTimer = 0;
    hit.addEventListener("mousedown", function (ev) {
      var x = svgX(ev);
      if (x === null) {
        return;
      }
      dragFrom = x;
      select.setAttribute("x", x.toFixed(1));
      select.setAttribute("width", "0");
      select.setAttribute("visibility", "visible");
      ev.preventDefault();
    });
    hit.addEventListener("mousemove", function (ev) {
      var x = svgX(ev);
      if (x === null) {
        return;
      }
      x = Math.max(left, Math.min(left + width, x));
      cursor.setAttribute("x1", x.toFixed(1));
      cursor.setAttribute("x2", x.toFixed(1));
      cursor.setAttribute("visibility", "visible");
      if (readout) {
        readout.textContent = describe(toMs(x));
      }
      if (dragFrom !== null) {
        select.setAttribute("x", Math.min(dragFrom, x).toFixed(1));
        select.setAttribute("width", Math.abs(x - dragFrom).toFixed(1));
      }
    });
    hit.addEventListener("mouseleave", function () {
      cursor.setAttribute("visibility", "hidden");
    });
    window.addEventListener("mouseup", function (ev) {
      if (dragFrom === null) {
        return;
      }
      var x = svgX(ev);
      var from = dragFrom;
      dragFrom = null;
      select.setAttribute("visibility", "hidden");
      if (x === null) {
        return;
      }
      x = Math.max(left, Math.min(left + width, x));
      if (Math.abs(x - from) < 4) {
        var ms = toMs(x);
        clearTimeout(clickTimer);
        clickTimer = setTimeout(function () { selected(ms, ms); }, 300);
        return;
      }
      var a = toMs(Math.min(from, x)), b = toMs(Math.max(from, x));
      zoom(a, b);
      selected(a, b);
    });
    // selected tells the page a moment (from = to) or a stretch of the run
    // was picked, in milliseconds.
    function selected(a, b) {
      document.dispatchEvent(new CustomEvent("gofil-select", { detail: { from: a, to: b } }));
    }
    function reset() {
      clearTimeout(clickTimer);
      zoom(0, data.xmax);
    }
    hit.addEventListener("dblclick", reset);
    var resetBtn = byId("timeline-reset");
    if (resetBtn) {
      resetBtn.addEventListener("click", reset);
    }
    window.gofilTimelineZoom = zoom;
  }

  // --- The heap at other moments ---------------------------------------
  // The page holds the flamegraphs of GC marks spread over the run in
  // <template id="moment-N"> elements, and their largest sites in
  // #moments-data. Picking a moment on the timeline shows the nearest
  // mark's in place of the peak's; picking a stretch, the largest within
  // it. The peak's own mark, or the button, brings the peak back.
  function setupMoments() {
    var dataEl = byId("moments-data");
    var flameBox = byId("flame-box"), icicleBox = byId("icicle-box");
    var text = byId("moment-text"), back = byId("moment-peak");
    var table = byId("sites-table");
    if (!dataEl || !flameBox || !text) {
      return;
    }
    var moments = JSON.parse(dataEl.textContent);
    if (!moments || !moments.length) {
      return;
    }
    var peakNodes = Array.prototype.slice.call(flameBox.childNodes);
    var body = table && table.tBodies.length ? table.tBodies[0] : null;
    var peakRows = body ? Array.prototype.slice.call(body.rows) : [];
    var heading = byId("sites") ? byId("sites").querySelector("h2") : null;
    var headingText = heading ? heading.textContent : "";
    var plot = document.querySelector("#timeline svg.tl-plot");
    var units = plot ? Number(plot.getAttribute("viewBox").split(" ")[3]) : 0;
    var marker = null;
    if (plot) {
      moments.forEach(function (m) {
        var tick = document.createElementNS(SVGNS, "line");
        tick.setAttribute("class", "tl-moment-tick");
        tick.setAttribute("x1", String(m.ms));
        tick.setAttribute("x2", String(m.ms));
        tick.setAttribute("y1", String(units * 0.97));
        tick.setAttribute("y2", String(units));
        tick.setAttribute("vector-effect", "non-scaling-stroke");
        plot.appendChild(tick);
      });
      marker = document.createElementNS(SVGNS, "line");
      marker.setAttribute("class", "tl-moment");
      marker.setAttribute("y1", "0");
      marker.setAttribute("y2", String(units));
      marker.setAttribute("vector-effect", "non-scaling-stroke");
      marker.setAttribute("visibility", "hidden");
      plot.appendChild(marker);
    }

    function cell(row, value, shown, cls, title) {
      var td = document.createElement("td");
      td.setAttribute("data-v", String(value));
      if (cls) {
        td.className = cls;
      }
      if (title) {
        td.title = title;
      }
      td.textContent = shown;
      row.appendChild(td);
      return td;
    }
    function grouped(n) {
      return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    }
    function rowsOf(m) {
      return m.sites.map(function (s, i) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-i", String(i));
        if (s.u) {
          tr.className = "user";
        }
        var fn = cell(tr, s.f, "", "", s.f);
        var code = document.createElement("code");
        code.textContent = s.s;
        fn.appendChild(code);
        cell(tr, s.l, s.l, "", s.p);
        cell(tr, s.b, human(s.b), "num");
        var pct = m.bytes > 0 ? 100 * s.b / m.bytes : 0;
        cell(tr, pct, pct.toFixed(1) + "%", "num");
        cell(tr, s.v, human(s.v), "num");
        cell(tr, s.b - s.v, human(Math.max(0, s.b - s.v)), "num");
        cell(tr, s.o, grouped(s.o), "num");
        return tr;
      });
    }
    // setRows shows rows, sorted by bytes as the page first shows them.
    function setRows(rows) {
      if (!body) {
        return;
      }
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        th.removeAttribute("aria-sort");
        if (th.textContent.trim().indexOf("Bytes") === 0) {
          th.setAttribute("aria-sort", "descending");
        }
      });
      rows.sort(function (a, b) { return Number(a.getAttribute("data-i")) - Number(b.getAttribute("data-i")); });
      while (body.firstChild) {
        body.removeChild(body.firstChild);
      }
      rows.forEach(function (r) { body.appendChild(r); });
    }
    // keepTimeline runs change, which resizes what is above the timeline,
    // and scrolls by as much: the timeline stays under the reader's
    // pointer.
    function keepTimeline(change) {
      var anchor = byId("timeline");
      var before = anchor ? anchor.getBoundingClientRect().top : 0;
      change();
      if (anchor) {
        window.scrollBy(0, anchor.getBoundingClientRect().top - before);
      }
    }
    function setGraph(nodes) {
      while (flameBox.firstChild) {
        flameBox.removeChild(flameBox.firstChild);
      }
      nodes.forEach(function (n) { flameBox.appendChild(n); });
    }
    function mark(m) {
      if (!marker) {
        return;
      }
      if (!m) {
        marker.setAttribute("visibility", "hidden");
        return;
      }
      marker.setAttribute("x1", String(m.ms));
      marker.setAttribute("x2", String(m.ms));
      marker.setAttribute("visibility", "visible");
    }
    function showPeak() {
      setGraph(peakNodes);
      if (icicleBox) {
        icicleBox.hidden = false;
      }
      setRows(peakRows);
      graphs = ["peak", "peakrev"];
      shownHeap = "the heap at the peak";
      text.textContent = "Showing the peak.";
      if (heading) {
        heading.textContent = headingText;
      }
      back.hidden = true;
      mark(null);
    }
    function show(m) {
      if (m.peak) {
        showPeak();
        mark(m);
        return;
      }
      var tpl = byId("moment-" + m.i);
      if (!tpl) {
        return;
      }
      setGraph([document.importNode(tpl.content, true)]);
      if (icicleBox) {
        icicleBox.hidden = true;
      }
      setRows(rowsOf(m));
      graphs = ["m" + m.i];
      shownHeap = "the heap at " + m.text.replace(/ into the run$/, "");
      text.textContent = "Showing the heap at " + m.text + ": " + human(m.bytes) + " sampled, " +
        human(m.live) + " of it live.";
      if (heading) {
        heading.textContent = "Largest allocation sites at " + m.text;
      }
      back.hidden = false;
      mark(m);
    }
    document.addEventListener("gofil-select", function (ev) {
      keepTimeline(function () { pick(ev); });
    });
    function pick(ev) {
      var from = ev.detail.from, to = ev.detail.to, best = null;
      moments.forEach(function (m) {
        if (from === to) {
          if (!best || Math.abs(m.ms - from) < Math.abs(best.ms - from)) {
            best = m;
          }
        } else if (m.ms >= from && m.ms <= to && (!best || m.bytes > best.bytes)) {
          best = m;
        }
      });
      if (best) {
        show(best);
      }
    }
    back.addEventListener("click", showPeak);
    window.gofilShowMoment = function (i) { show(moments[i]); };
  }

  // --- Call graph -----------------------------------------------------
  function setupCallGraph() {
    var btn = byId("callgraph-fit");
    var box = byId("callgraph-box");
    if (!btn || !box) {
      if (btn) {
        btn.hidden = true;
      }
      return;
    }
    btn.addEventListener("click", function () {
      var fit = box.classList.toggle("fit");
      btn.textContent = fit ? "Actual size" : "Fit to view";
    });
  }

  setupSearch();
  setupTable();
  setupTimeline();
  setupMoments();
  setupCallGraph();
})();
