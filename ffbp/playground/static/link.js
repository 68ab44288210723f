// The URL hash holds the whole setup (the session's config), so a link reproduces it.
// Uploaded data cannot travel in a link: its keys are left out, and the link opens on the
// built-in data with the same network and training settings.
const DATA_KEYS = ["dataset", "problem", "features", "x_feature", "y_feature"];

export function writeHash(c) {
  const parts = [];
  for (const [k, v] of Object.entries(c)) {
    if (c.dataset === "upload" && DATA_KEYS.includes(k)) continue;
    parts.push(`${k}=${Array.isArray(v) ? v.join(",") : v}`);
  }
  history.replaceState(null, "", `#${parts.join("&")}`);
}

// Values are read as the type the server's own setting has (number, true/false, a list);
// one that is not of that type goes as written, for the server to name in its refusal.
const asNumber = (s) => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s);
export function readHash(current) {
  const changes = {};
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    const [k, raw] = part.split("=").map(decodeURIComponent);
    if (!k || raw === undefined || !(k in current)) continue;
    const now = current[k];
    let v = raw;
    if (Array.isArray(now)) v = raw === "" ? [] : raw.split(",").map((s) => (k === "hidden" ? asNumber(s) : s));
    else if (typeof now === "number") v = asNumber(raw);
    else if (typeof now === "boolean") v = raw === "true" ? true : raw === "false" ? false : raw;
    if (JSON.stringify(v) !== JSON.stringify(now)) changes[k] = v;
  }
  return changes;
}
