// Draws the trend chart from the numbers the server put in #history-data.
// No inline scripts: the page's Content-Security-Policy allows only files from this site.
(function () {
  "use strict";
  var canvas = document.getElementById("history-chart");
  var source = document.getElementById("history-data");
  if (!canvas || !source || typeof Chart === "undefined") {
    return;
  }
  var series = JSON.parse(source.textContent);
  Chart.defaults.color = "#333333";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  new Chart(canvas, {
    type: "line",
    data: {
      labels: series.labels,
      datasets: [
        {label: "Isolated members", data: series.isolates, yAxisID: "count",
         borderColor: "#d55e00", backgroundColor: "#d55e00", pointStyle: "circle"},
        {label: "Components", data: series.components, yAxisID: "count",
         borderColor: "#0072b2", backgroundColor: "#0072b2", pointStyle: "rect", borderDash: [6, 4]},
        {label: "Modularity", data: series.modularity, yAxisID: "modularity",
         borderColor: "#009e73", backgroundColor: "#009e73", pointStyle: "triangle", borderDash: [2, 3]}
      ]
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: {mode: "index", intersect: false},
      plugins: {legend: {labels: {usePointStyle: true}}},
      scales: {
        x: {offset: true},
        count: {type: "linear", position: "left", beginAtZero: true, ticks: {precision: 0},
                title: {display: true, text: "Isolated members, components"}},
        modularity: {type: "linear", position: "right", min: 0, max: 1,
                     title: {display: true, text: "Modularity"}, grid: {drawOnChartArea: false}}
      }
    }
  });
  canvas.setAttribute("data-drawn", "true");
})();
