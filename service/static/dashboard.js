// Draws the dashboard's charts from the numbers the server put in the page as JSON.
// No inline scripts: the page's Content-Security-Policy allows only files from this site.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  Chart.defaults.color = "#333333";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  function draw(canvasId, dataId, build) {
    var canvas = document.getElementById(canvasId);
    var source = document.getElementById(dataId);
    if (!canvas || !source) {
      return;
    }
    new Chart(canvas, build(JSON.parse(source.textContent)));
    canvas.setAttribute("data-drawn", "true");
  }

  function line(label, data, colour, pointStyle, dash, axis) {
    return {label: label, data: data, yAxisID: axis, borderColor: colour, backgroundColor: colour,
            pointStyle: pointStyle, borderDash: dash};
  }

  var common = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: {mode: "index", intersect: false},
    plugins: {legend: {labels: {usePointStyle: true}}}
  };

  draw("history-chart", "history-data", function (series) {
    return {
      type: "line",
      data: {
        labels: series.labels,
        datasets: [
          line("Isolated members", series.isolates, "#d55e00", "circle", [], "count"),
          line("Components", series.components, "#0072b2", "rect", [6, 4], "count"),
          line("Modularity", series.modularity, "#009e73", "triangle", [2, 3], "modularity")
        ]
      },
      options: Object.assign({}, common, {
        scales: {
          x: {offset: true},
          count: {type: "linear", position: "left", beginAtZero: true, ticks: {precision: 0},
                  title: {display: true, text: "Isolated members, components"}},
          modularity: {type: "linear", position: "right", min: 0, max: 1,
                       title: {display: true, text: "Modularity"}, grid: {drawOnChartArea: false}}
        }
      })
    };
  });

  draw("impact-chart", "impact-data", function (series) {
    return {
      type: "line",
      data: {
        labels: series.labels,
        datasets: [
          line("Suggestions accepted", series.accepted, "#0072b2", "circle", [], "count"),
          line("Intro pairs who met", series.met, "#d55e00", "rect", [6, 4], "count"),
          line("Members who made a first tie", series.first_tie, "#009e73", "triangle", [2, 3], "count")
        ]
      },
      options: Object.assign({}, common, {
        scales: {
          x: {offset: true, title: {display: true, text: "Week starting"}},
          count: {type: "linear", position: "left", beginAtZero: true, ticks: {precision: 0},
                  title: {display: true, text: "Per week"}}
        }
      })
    };
  });
})();
