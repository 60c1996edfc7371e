// Where the gateway lives. Empty means the same origin that served this page.
// A deployment that serves the page elsewhere replaces this file, e.g.
//   window.GATEWAY_URL = "https://gateway.example.org";
window.GATEWAY_URL = "";
