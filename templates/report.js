// The HTML report's drill-down: filter the findings by status, severity, requirement and target, search them,
// sort them by a column. It reads only data-* attributes and text, and changes only classes, attributes and
// text (never innerHTML), so scanned content stays text. The filter lives in the address (#status=fail&req=R1),
// so a link can point at one view of the findings.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("findings-table");
  if (!form || !table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var shown = document.getElementById("shown");
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function state() {
    var statuses = Array.prototype.filter.call(form.elements.status || [], function (box) { return box.checked; })
      .map(function (box) { return box.value; });
    return { status: statuses, severity: form.elements.severity.value, req: form.elements.req.value,
             target: form.elements.target.value, q: form.elements.q.value.trim().toLowerCase() };
  }

  function apply() {
    var s = state(), count = 0;
    rows.forEach(function (row, index) {
      var d = row.dataset;
      var visible = (!s.status.length || s.status.indexOf(d.status) >= 0) &&
        (!s.severity || d.severity === s.severity) &&
        (!s.req || (" " + d.req + " ").indexOf(" " + s.req + " ") >= 0) &&
        (!s.target || d.target === s.target) &&
        (!s.q || texts[index].indexOf(s.q) >= 0);
      row.classList.toggle("hidden", !visible);
      if (visible) { count += 1; }
    });
    shown.textContent = shown.dataset.template.replace("{shown}", String(count)).replace("{total}", String(rows.length));
    var parts = [];
    if (s.status.length) { parts.push("status=" + s.status.join(",")); }
    ["severity", "req", "target", "q"].forEach(function (key) {
      if (s[key]) { parts.push(key + "=" + encodeURIComponent(s[key])); }
    });
    // Only a filter is written to the address; "#R1" and the other section links are left alone.
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash && location.hash !== hash) { history.replaceState(null, "", hash); }
    if (!hash && location.hash.indexOf("=") >= 0) { history.replaceState(null, "", "#findings"); }
  }

  function setFilters(values) {
    Array.prototype.forEach.call(form.elements.status || [], function (box) {
      box.checked = (values.status || []).indexOf(box.value) >= 0;
    });
    ["severity", "req", "target"].forEach(function (key) {
      var select = form.elements[key];
      select.value = values[key] || "";
      if (select.value !== (values[key] || "")) { select.value = ""; }
    });
    form.elements.q.value = values.q || "";
    apply();
  }

  function fromHash() {
    var values = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) { return; }
      var key = pair.slice(0, at), value = decodeURIComponent(pair.slice(at + 1));
      values[key] = key === "status" ? value.split(",") : value;
    });
    return values;
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  document.getElementById("f-reset").addEventListener("click", function () { setFilters({}); });

  // "Show its findings" / "Show failures" buttons in the requirement and target sections.
  Array.prototype.forEach.call(document.querySelectorAll("button.show"), function (button) {
    button.addEventListener("click", function () {
      setFilters({ req: button.dataset.req || "", target: button.dataset.target || "",
                   status: button.dataset.status ? [button.dataset.status] : [] });
      document.getElementById("findings").scrollIntoView();
    });
  });

  // Sorting: by the rank of a status or severity, by the row's target, requirement or check, else by the
  // cell's text; a second click reverses.
  var rankOf = { status: "rankStatus", severity: "rankSeverity", target: "target", req: "req", check: "check" };
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, column) {
    cell.addEventListener("click", function () {
      var ascending = cell.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
      cell.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rank = rankOf[cell.dataset.sort];
      var keyed = rows.map(function (row, index) {
        var value = rank ? row.dataset[rank] : row.cells[column].textContent.trim();
        var key = /^rank/.test(rank || "") ? Number(value) : value.toLowerCase();
        return { row: row, key: key, index: index };
      });
      keyed.sort(function (a, b) {
        var order = a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index;
        return ascending ? order : -order;
      });
      keyed.forEach(function (item) { body.appendChild(item.row); });
      rows = keyed.map(function (item) { return item.row; });
      texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    });
  });

  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") >= 0) { setFilters(fromHash()); }
  });
  setFilters(fromHash());
}());
