package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiClient talks to a Servo server's HTTP API with a tenant's key.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

// apiError is an error answer of the API.
type apiError struct {
	Status int
	Body   struct {
		Error struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("HTTP %d: %s", e.Status, e.Body.Error.Message)
	if len(e.Body.Error.Details) > 0 {
		d, _ := json.Marshal(e.Body.Error.Details)
		msg += " " + string(d)
	}
	return msg
}

// do sends a JSON request and decodes a JSON answer into dst (when set).
// An error answer becomes an *apiError carrying the server's message and
// details.
func (c *apiClient) do(ctx context.Context, method, path string, body any, dst any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		ae := &apiError{Status: res.StatusCode}
		_ = json.Unmarshal(b, &ae.Body)
		return ae
	}
	if dst == nil {
		return nil
	}
	return json.Unmarshal(b, dst)
}
