// Package browser holds the console's browser test: a full stack (console,
// API, workers, MQTT bridge) in-process against simulated devices, driven
// through headless Chromium with chromedp. It is a package of its own so
// that it runs in parallel with the other packages' tests.
package browser
