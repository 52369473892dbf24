// Package console serves Servo's web console: hand-written HTML, CSS and ES
// modules embedded in the binary, under a strict Content-Security-Policy.
// The pages call the JSON API with the key the user signs in with; the
// console itself needs none.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/labstack/echo/v4"
)

// Path is where the web console is served.
const Path = "/ui/"

// uiCSP is the Content-Security-Policy of every console response: scripts,
// styles, images and API calls only from the server itself, no inline
// script or style, no plugins, no framing.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// uiEmbedded holds the console: hand-written HTML, CSS and ES modules, no
// build step.
//
//go:embed ui
var uiEmbedded embed.FS

// uiAssets serves the embedded console files with strong ETags.
type uiAssets struct {
	files fs.FS
	etags map[string]string
}

// newUIAssets indexes the embedded files. It panics when they cannot be
// read, which only a broken build can cause.
func newUIAssets() *uiAssets {
	files, err := fs.Sub(uiEmbedded, "ui")
	if err != nil {
		panic("console: the embedded console: " + err.Error())
	}
	u := &uiAssets{files: files, etags: map[string]string{}}
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		u.etags[name] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	if err != nil {
		panic("console: the embedded console: " + err.Error())
	}
	return u
}

// Mount registers the web console on e: GET /ui/* serves the embedded files
// (index.html for /ui/) and /ui redirects to /ui/. The routes need no API
// key; the pages call the API with the key the user signs in with. The
// redirect is registered as the catch-all /ui* so that, like the file route,
// it stays out of the API's route table: only the bare /ui redirects, and
// anything else it catches (/uix) is 404.
func Mount(e *echo.Echo) {
	u := newUIAssets()
	e.GET(Path+"*", u.serve)
	e.GET("/ui*", func(c echo.Context) error {
		if c.Param("*") != "" {
			return echo.ErrNotFound
		}
		target := Path
		if q := c.Request().URL.RawQuery; q != "" {
			target += "?" + q
		}
		return c.Redirect(http.StatusMovedPermanently, target)
	})
}

// serve answers GET /ui/<name> with the embedded file, under a strict
// Content-Security-Policy.
func (u *uiAssets) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")

	name := c.Param("*")
	if name == "" {
		name = "index.html"
	}
	// Echo gives the raw remainder of the path; clean it and refuse to
	// leave the console's directory.
	name = path.Clean("/" + name)[1:]
	etag, ok := u.etags[name]
	if !ok {
		return echo.ErrNotFound
	}
	f, err := u.files.Open(name)
	if err != nil {
		return echo.ErrNotFound
	}
	defer func() { _ = f.Close() }()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		return errors.New("ui: embedded file is not seekable")
	}
	// Revalidate every time: the ETag makes that a 304 until the binary
	// changes.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	http.ServeContent(c.Response(), c.Request(), name, time.Time{}, rs)
	return nil
}
