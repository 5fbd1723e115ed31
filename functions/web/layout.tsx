// The page frame every web page shares: plain HTML, styles inline, no assets from elsewhere.
import type { Child, FC } from 'hono/jsx';
import { raw } from 'hono/html';

const css = `
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#142033;color:#fff;padding:10px 24px;display:flex;gap:18px;align-items:center}
header a{color:#cfe0ff;text-decoration:none} header .brand{font-weight:700;color:#fff;margin-right:auto}
header form{margin:0} header button{background:none;border:1px solid #4a5d7d;color:#cfe0ff;padding:3px 10px;border-radius:5px;cursor:pointer}
main{max-width:920px;margin:24px auto;padding:0 20px}
.card{background:#fff;border:1px solid #e1e5ec;border-radius:10px;padding:18px 22px;margin-bottom:18px}
h1{font-size:22px;margin:0 0 14px} h2{font-size:17px;margin:0 0 10px}
label{display:block;font-weight:600;margin:12px 0 4px} .hint{font-weight:400;color:#5c6578;font-size:13px}
input[type=text],input[type=password],select{width:100%;padding:8px 10px;border:1px solid #c9cfd9;border-radius:6px;font:inherit}
button.primary{background:#2457a6;color:#fff;border:0;border-radius:6px;padding:9px 18px;font:600 15px system-ui;cursor:pointer;margin-top:16px}
button.primary:disabled{background:#8ea6cc}
table{width:100%;border-collapse:collapse} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f4;font-size:14px}
th{color:#5c6578;font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
.error{background:#fdecec;border:1px solid #f3b7b7;color:#8a1f1f;padding:8px 12px;border-radius:6px;margin-bottom:12px}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#eef0f4}
.status.succeeded,.status.active{background:#dff3e6;color:#1f6b3a}.status.failed{background:#fdecec;color:#8a1f1f}
.status.running,.status.queued,.status.pending,.status.deploying{background:#e6eefb;color:#2457a6}
pre.log{background:#0f1724;color:#d7e0ee;padding:12px 14px;border-radius:8px;min-height:120px;max-height:480px;overflow:auto;white-space:pre-wrap;font:13px/1.45 ui-monospace,Menlo,monospace}
.or{color:#5c6578;margin:6px 0;font-size:13px}
.result{margin-top:12px} .result div{margin:4px 0}
`;

export const Layout: FC<{ title: string; account?: { name: string }; csrf?: string; children?: Child }> = ({ title, account, csrf, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title} · Berth</title>
      <style>{raw(css)}</style>
    </head>
    <body>
      <header>
        <a class="brand" href="/">Berth</a>
        {account ? (
          <>
            <a href="/new">New build</a>
            <a href="/api/v1/docs">API</a>
            <span>{account.name}</span>
            <form method="post" action="/signout">
              <input type="hidden" name="_csrf" value={csrf} />
              <button type="submit">Sign out</button>
            </form>
          </>
        ) : (
          <>
            <a href="/signin">Sign in</a>
            <a href="/signup">Sign up</a>
          </>
        )}
      </header>
      <main>{children}</main>
    </body>
  </html>
);
