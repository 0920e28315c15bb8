import type { FileHandle } from 'node:fs/promises';
import type { AuditReport } from './types.ts';

/**
 * Writes `{"summary": {...}, "findings": [...]}` (then `"system_findings": [...]` when Stripe or
 * Zendesk exports were given) one finding per line, in chunks, so a report with millions of
 * findings never becomes one giant string.
 */
export async function writeJsonReport(handle: FileHandle, report: AuditReport): Promise<void> {
  let chunk = `{"summary":${JSON.stringify(report.summary, null, 2)},\n"findings":[`;
  for (let i = 0; i < report.findings.length; i++) {
    chunk += `${i === 0 ? '\n' : ',\n'}${JSON.stringify(report.findings[i])}`;
    if (chunk.length > 1 << 20) {
      await handle.write(chunk);
      chunk = '';
    }
  }
  if (report.system_findings) {
    chunk += '\n],\n"system_findings":[';
    for (let i = 0; i < report.system_findings.length; i++) {
      chunk += `${i === 0 ? '\n' : ',\n'}${JSON.stringify(report.system_findings[i])}`;
      if (chunk.length > 1 << 20) {
        await handle.write(chunk);
        chunk = '';
      }
    }
  }
  await handle.write(`${chunk}\n]}\n`);
}
