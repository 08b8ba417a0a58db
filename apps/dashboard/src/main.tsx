// The base styles load first; each component imports its own stylesheet after its dependencies,
// so a component's rules come after the shared ones they refine.
import "./styles/base.css";
import "./styles/controls.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.tsx";
import { installStateColors } from "./lib/states.ts";

installStateColors(document.documentElement);
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
