package api

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// The web app (api/web, Vue + Vite) is built into web/dist/app by `make
// build` and embedded here. The directory holds a committed placeholder,
// so the package builds and its tests run without the bundle; / then says
// how to build it.
//
//go:embed all:web/dist
var webDist embed.FS

// webViews are the app's pages: a browser asking for one (a shared link,
// a reload) gets the app, which routes on the path itself.
var webViews = map[string]bool{"overview": true, "touchpoints": true, "verbatims": true, "alerts": true,
	"taxonomy": true, "review": true, "admin": true, "signin": true}

// webApp serves the embedded bundle: hashed assets cached for good,
// compressed once when the client takes gzip; the app's pages get
// index.html, never cached, so a new release is picked up at once.
type webApp struct {
	files fs.FS // nil: no bundle built
	mu    sync.Mutex
	gz    map[string][]byte
}

func newWebApp(dist fs.FS) *webApp {
	w := &webApp{gz: map[string][]byte{}}
	if sub, err := fs.Sub(dist, "web/dist/app"); err == nil {
		if _, err := fs.Stat(sub, "index.html"); err == nil {
			w.files = sub
		}
	}
	return w
}

func (s *Server) web(c echo.Context) error {
	p := c.Request().URL.Path
	if strings.HasPrefix(p, "/api/") {
		return echo.ErrNotFound
	}
	if s.webApp.files == nil {
		return c.HTML(http.StatusOK, noBundleHTML)
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	first, _, _ := strings.Cut(name, "/")
	if name == "" || name == "index.html" || webViews[first] {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
		return s.webApp.serve(c, "index.html")
	}
	if st, err := fs.Stat(s.webApp.files, name); err != nil || st.IsDir() {
		return echo.ErrNotFound
	}
	if strings.HasPrefix(name, "assets/") { // content-hashed names
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	}
	return s.webApp.serve(c, name)
}

func (w *webApp) serve(c echo.Context, name string) error {
	b, err := fs.ReadFile(w.files, name)
	if err != nil {
		return err
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(b)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ctype)
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	h.Set("X-Content-Type-Options", "nosniff")
	if len(b) > 1024 && strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
		z, err := w.gzipped(name, b)
		if err != nil {
			return err
		}
		h.Set(echo.HeaderContentEncoding, "gzip")
		return c.Blob(http.StatusOK, ctype, z)
	}
	return c.Blob(http.StatusOK, ctype, b)
}

// gzipped compresses a file once; the bundle is a few files.
func (w *webApp) gzipped(name string, b []byte) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if z, ok := w.gz[name]; ok {
		return z, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("api: gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("api: gzip %s: %w", name, err)
	}
	w.gz[name] = buf.Bytes()
	return w.gz[name], nil
}

const noBundleHTML = `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>洞听 Dongting</title>
<body style="font:16px/1.6 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;max-width:40em;margin:3em auto;padding:0 1em">
<h1>洞听 Dongting</h1>
<p>网页应用尚未构建。在源码目录运行 <code>make build</code>（需要 Node 20 和 npm），再启动服务。</p>
<p lang="en">The web app is not built into this binary. Run <code>make build</code> in the source tree (Node 20 and npm), then start the server again.</p>
<p>API: <code>/api/v1</code> (send <code>Authorization: Bearer KEY</code>), <a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a>.</p>
</body></html>`
