// Search without a server: the index is a set of <script> files (fetch() of local files is
// refused on file://), loaded newest first when the reader searches, and matched in memory.
// Each shard, search/<feed>/<k>.js, sets NM_INDEX["<feed>/<k>"] to [number, date, removed,
// "title\n\ntext"] per article; search/fold.js sets NM_FOLD to Traditional/Simplified pairs,
// the table the server's search folds with (search.script_pairs).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("search-data").textContent);
  var form = document.getElementById("search");
  var input = form.elements.q;
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var more = document.getElementById("more");
  var PAGE = 50; // results shown before asking whether to search older shards
  var total = data.shards.reduce(function (n, s) { return n + s[3]; }, 0);
  var scripts = {};
  var folded = {}; // shard key -> folded texts, built once per shard
  var foldChar = null;
  var foldPattern = null;
  var run = 0;

  function load(src) {
    if (!scripts[src]) {
      scripts[src] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = resolve;
        s.onerror = function () { delete scripts[src]; reject(new Error(src)); };
        document.head.appendChild(s);
      });
    }
    return scripts[src];
  }

  function fold(text) {
    text = text.toLowerCase();
    return foldPattern ? text.replace(foldPattern, function (c) { return foldChar[c]; }) : text;
  }

  function loadFold() {
    return load("search/fold.js").then(function () {
      if (foldChar) return;
      var pairs = Array.from(window.NM_FOLD || ""); // by code point: some pairs lie past U+FFFF
      foldChar = {};
      for (var i = 0; i + 1 < pairs.length; i += 2) foldChar[pairs[i]] = pairs[i + 1];
      var keys = Object.keys(foldChar).join("");
      foldPattern = keys ? new RegExp("[" + keys + "]", "gu") : null;
    });
  }

  function shard(s) {
    var key = s[0] + "/" + s[1];
    return load("search/" + key + ".js").then(function () {
      var items = window.NM_INDEX[key];
      if (!folded[key]) folded[key] = items.map(function (item) { return fold(item[3]); });
      return { feed: s[0], items: items, texts: folded[key] };
    });
  }

  // The day in [display] timezone, as the site's pages show it (an IANA name: Intl knows them all).
  var days = new Intl.DateTimeFormat("en-CA", { timeZone: data.zone, year: "numeric", month: "2-digit", day: "2-digit" });
  function day(ms) {
    var parts = {};
    days.formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  function snippet(text, at, length) {
    var p = document.createElement("p");
    p.className = "snippet";
    var start = Math.max(0, at - 40);
    p.appendChild(document.createTextNode((start ? "…" : "") + text.slice(start, at).replace(/\s+/g, " ")));
    var mark = document.createElement("mark");
    mark.textContent = text.slice(at, at + length);
    p.appendChild(mark);
    p.appendChild(document.createTextNode(text.slice(at + length, at + length + 60).replace(/\s+/g, " ") + "…"));
    return p;
  }

  function show(feed, item, hay, term) {
    var text = item[3];
    var cut = text.indexOf("\n");
    var title = cut < 0 ? text : text.slice(0, cut);
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = "articles/" + feed + "/" + item[0] + ".html";
    a.textContent = title || "（无标题）";
    var meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = (data.feeds[feed] || feed) + " · " + day(item[1]) + (item[2] ? " · " + data.marker : "");
    li.appendChild(a);
    li.appendChild(meta);
    var at = cut < 0 ? -1 : hay.indexOf(term, cut); // the first match in the body, if any
    if (at >= 0) li.appendChild(snippet(text, at, term.length));
    list.appendChild(li);
  }

  function search(query) {
    var token = ++run;
    list.textContent = "";
    more.hidden = true;
    var found = 0, searched = 0, next = 0, wanted = PAGE, terms;
    if (!query.trim()) { status.textContent = ""; return; }
    status.textContent = "正在搜索…";

    function step() {
      if (token !== run) return;
      if (next >= data.shards.length) {
        status.textContent = found ? "找到 " + found + " 篇（共搜索 " + searched + " 篇）" : "没有找到（共搜索 " + searched + " 篇）";
        return;
      }
      if (found >= wanted) {
        status.textContent = "找到 " + found + " 篇（已搜索 " + searched + " / " + total + " 篇）";
        more.hidden = false;
        more.onclick = function () { more.hidden = true; wanted = found + PAGE; step(); };
        return;
      }
      shard(data.shards[next++]).then(function (s) {
        if (token !== run) return;
        s.items.forEach(function (item, i) {
          var hay = s.texts[i];
          if (terms.every(function (t) { return hay.indexOf(t) >= 0; })) {
            found++;
            show(s.feed, item, hay, terms[0]);
          }
        });
        searched += s.items.length;
        status.textContent = "正在搜索…（已搜索 " + searched + " / " + total + " 篇）";
        step();
      }, fail);
    }

    function fail(error) {
      if (token === run) status.textContent = "无法读取搜索索引：" + error.message;
    }

    loadFold().then(function () {
      terms = fold(query).split(/\s+/).filter(Boolean);
      step();
    }, fail);
  }

  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { search(input.value); }, 300);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    search(input.value);
    try {
      history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
    } catch (e) { /* some browsers refuse it on file:// */ }
  });
  var q = new URLSearchParams(location.search).get("q");
  if (q) {
    input.value = q;
    search(q);
  }
})();
