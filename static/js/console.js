// The organiser's console: copy buttons, export downloads (the host key sent in a header, as
// the host page does), and each agenda item showing the fields of the kind chosen.
// The forms themselves work without this script.
const config = JSON.parse(document.getElementById("config").textContent);
const t = (key, vars = {}) =>
  (config.strings[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));

for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      // A console reached over plain http on a LAN has no clipboard API: select and copy.
      input.select();
      copied = document.execCommand("copy");
    }
    button.textContent = copied ? t("copied") : t("copy_failed");
    setTimeout(() => { button.textContent = t("copy"); }, 2000);
  });
}

const exportsPanel = document.getElementById("exports");
if (exportsPanel) {
  const status = document.getElementById("export-status");
  const { code, key } = exportsPanel.dataset;
  for (const button of exportsPanel.querySelectorAll("button.download")) {
    button.addEventListener("click", async () => {
      const file = button.dataset.file;
      status.textContent = t("downloading");
      let response;
      try {
        response = await fetch(`/export/${encodeURIComponent(code)}/${file}`, {
          headers: { Authorization: `Bearer ${key}` },
        });
      } catch (error) {
        status.textContent = t("download_failed", { reason: String(error) });
        return;
      }
      if (!response.ok) {
        status.textContent = t("download_failed", { reason: `${response.status} ${await response.text()}` });
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = `${code}-${file}`;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = "";
    });
  }
}

for (const select of document.querySelectorAll("select.kind-select")) {
  const item = select.closest("fieldset.item");
  const show = () => {
    item.dataset.kind = select.value;
    for (const part of item.querySelectorAll(".kind-fields")) {
      part.hidden = !part.dataset.kinds.split(" ").includes(select.value);
    }
  };
  select.addEventListener("change", show);
}
