// Preloaded into a process under test (node --require): on exit, writes its peak RSS (bytes)
// to the file named by UNETLENS_RSS_FILE. process.exit() and a normal end both run 'exit'.
'use strict';
const file = process.env.UNETLENS_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      // VmHWM, not getrusage's maxRSS: Linux carries ru_maxrss over fork and exec, so a
      // child would report its parent's peak.
      const m = /VmHWM:\s*(\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
      require('fs').writeFileSync(file, String(m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024));
    } catch {
      /* nothing to report to */
    }
  });
}
