/** Uploading captures from the page (token needed). */
import { api, messageOf } from './api.js';
import { fmtBytes, fmtNum } from './format.js';
import { loadSession, renderNodeTabs, renderView } from './navigation.js';
import { state } from './state.js';
import { needToken, showMessage, tokenRefused } from './ui.js';

export async function upload(files: readonly File[]): Promise<void> {
  if (files.length === 0 || needToken()) return;
  const limit = state.session?.uploadLimitBytes ?? Infinity;
  const done: string[] = [];
  for (const file of files) {
    if (file.size > limit) {
      showMessage(
        `${file.name} is ${fmtBytes(file.size)}: uploads are limited to ${fmtBytes(limit)}. Serve large captures from disk: vxlan-inspect serve FILE…`,
      );
      return;
    }
    showMessage(`Uploading ${file.name}…`, 'ok');
    try {
      const r = await api.upload(file.name, file, state.token ?? '');
      done.push(
        `${r.capture.name}: ${fmtNum(r.capture.packets)} packets (node ${r.node}, ${r.capture.role === 'underlay' ? 'underlay' : 'bridge'})`,
      );
      state.node = r.node;
    } catch (err) {
      showMessage(`Upload failed — ${messageOf(err)}`);
      tokenRefused(err);
      return;
    }
  }
  await loadSession(true);
  renderNodeTabs();
  await renderView();
  showMessage(`Loaded ${done.join('; ')}`, 'ok');
}
