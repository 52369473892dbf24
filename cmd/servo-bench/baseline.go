package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/servo-data/servo/internal/domain"
)

// baselineAsset is what the baseline handlers encode: the columns of the
// point read.
type baselineAsset struct {
	ID        uuid.UUID       `json:"id"`
	TenantID  *string         `json:"tenant_id"`
	Name      string          `json:"name"`
	Type      string          `json:"asset_type"`
	Owner     string          `json:"owner"`
	Tags      json.RawMessage `json:"tags"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

const pointReadSQL = `SELECT id, tenant_id, name, asset_type, owner, tags, created_at, updated_at FROM assets WHERE id = $1`

// baseline is the hand-written server the full stack is compared with: a
// bare net/http handler on pgx, no auth, no framework.
type baseline struct {
	owner *pgxpool.Pool // bypasses row-level security: the bare read
	app   *pgxpool.Pool // the application role: reads need the tenant set
	url   string
	srv   *http.Server
}

// startBaseline serves GET /bare/{id} (a point read as the owner), GET
// /tx/{tenant}/{id} (BEGIN, set_config of the tenant, the read, COMMIT, as
// the application role, so that row-level security is in force) and GET
// /bare-list/{tenant} (a page of the tenant's assets by keyset, as the
// owner) on a loopback port.
func startBaseline(ctx context.Context, ownerURL, appURL string, conns int32) (*baseline, error) {
	pool := func(url string) (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns, cfg.MinConns = conns, conns
		return pgxpool.NewWithConfig(ctx, cfg)
	}
	b := &baseline{}
	var err error
	if b.owner, err = pool(ownerURL); err != nil {
		return nil, err
	}
	if b.app, err = pool(appURL); err != nil {
		b.owner.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bare/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		var a baselineAsset
		err = b.owner.QueryRow(r.Context(), pointReadSQL, id).Scan(&a.ID, &a.TenantID, &a.Name, &a.Type, &a.Owner, &a.Tags, &a.CreatedAt, &a.UpdatedAt)
		writeBaseline(w, a, err)
	})
	mux.HandleFunc("GET /tx/{tenant}/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		var a baselineAsset
		err = pgx.BeginFunc(r.Context(), b.app, func(tx pgx.Tx) error {
			if _, err := tx.Exec(r.Context(), "SELECT set_config('app.tenant_id', $1, true)", r.PathValue("tenant")); err != nil {
				return err
			}
			return tx.QueryRow(r.Context(), pointReadSQL, id).Scan(&a.ID, &a.TenantID, &a.Name, &a.Type, &a.Owner, &a.Tags, &a.CreatedAt, &a.UpdatedAt)
		})
		writeBaseline(w, a, err)
	})
	mux.HandleFunc("GET /bare-list/{tenant}", b.serveList)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.close()
		return nil, err
	}
	b.url = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// listSQL and listAfterSQL are a tenant's page of assets, newest first,
// by keyset: the first page and the page after a (created_at, id)
// position. One row more than the page tells whether a next page exists.
const (
	listSQL      = `SELECT id, tenant_id, name, asset_type, owner, tags, created_at, updated_at FROM assets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`
	listAfterSQL = `SELECT id, tenant_id, name, asset_type, owner, tags, created_at, updated_at FROM assets WHERE tenant_id = $1 AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $2`
)

// serveList answers GET /bare-list/{tenant}?limit=N[&cursor=C]: the page of
// the tenant's assets the API's list answers, read as the owner with one
// keyset query, and its next cursor.
func (b *baseline) serveList(w http.ResponseWriter, r *http.Request) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 {
		http.Error(w, "bad limit", http.StatusBadRequest)
		return
	}
	var rows pgx.Rows
	if raw := r.URL.Query().Get("cursor"); raw != "" {
		c, cerr := domain.DecodeCursor(raw)
		if cerr != nil {
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		}
		rows, err = b.owner.Query(r.Context(), listAfterSQL, r.PathValue("tenant"), limit+1, c.CreatedAt, c.ID)
	} else {
		rows, err = b.owner.Query(r.Context(), listSQL, r.PathValue("tenant"), limit+1)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := make([]baselineAsset, 0, limit+1)
	for rows.Next() {
		var a baselineAsset
		if err := rows.Scan(&a.ID, &a.TenantID, &a.Name, &a.Type, &a.Owner, &a.Tags, &a.CreatedAt, &a.UpdatedAt); err != nil {
			rows.Close()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var next *string
	if len(out) > limit {
		out = out[:limit]
		s := domain.Cursor{CreatedAt: out[limit-1].CreatedAt, ID: out[limit-1].ID}.Encode()
		next = &s
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"assets": out, "next_cursor": next})
}

func writeBaseline(w http.ResponseWriter, a baselineAsset, err error) {
	switch {
	case err == pgx.ErrNoRows:
		http.Error(w, "not found", http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"asset": a})
	}
}

func (b *baseline) close() {
	if b.srv != nil {
		_ = b.srv.Close()
	}
	b.owner.Close()
	if b.app != nil {
		b.app.Close()
	}
}

// reachSQL is the downstream closure of $1 within $2 hops: (id, depth)
// rows, a node once per depth it is reached at.
const reachSQL = `WITH RECURSIVE reach(id, depth) AS (
	SELECT $1::uuid, 0
	UNION
	SELECT d.downstream_asset_id, r.depth + 1
	FROM asset_dependencies d JOIN reach r ON d.upstream_asset_id = r.id
	WHERE r.depth < $2
)`

// lineageSQL is the downstream closure in one statement: every node
// reached from the root within the depth limit, at its shortest depth, with
// its row. (The API also returns the 3 edges into each node; this query does
// not, so the baseline is the lower bound.)
const lineageSQL = reachSQL + `, nodes AS (
	SELECT id, min(depth) AS depth FROM reach WHERE id <> $1 GROUP BY id
)
SELECT n.depth, a.id, a.name, a.asset_type, a.owner, a.tags, a.created_at, a.updated_at
FROM nodes n JOIN assets a ON a.id = n.id`

// lineageQuery runs lineageSQL and reads every row, returning how many
// nodes it reached.
func (b *baseline) lineageQuery(ctx context.Context, root uuid.UUID, depth int) (int, error) {
	rows, err := b.owner.Query(ctx, lineageSQL, root, depth)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			d int
			a baselineAsset
		)
		if err := rows.Scan(&d, &a.ID, &a.Name, &a.Type, &a.Owner, &a.Tags, &a.CreatedAt, &a.UpdatedAt); err != nil {
			return 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("lineage query: %w", err)
	}
	return n, nil
}

// lineageEdgesSQL is the equivalent of the API's answer in one statement:
// the same closure, each node with its row, and the edges the walk follows
// (those leaving the root or a node short of the depth limit).
const lineageEdgesSQL = reachSQL + `, nodes AS MATERIALIZED (
	SELECT id, min(depth) AS depth FROM reach GROUP BY id
)
SELECT n.depth, a.id, a.name, a.asset_type, a.owner, a.tags, a.created_at, a.updated_at, NULL::uuid, NULL::uuid
FROM nodes n JOIN assets a ON a.id = n.id
UNION ALL
SELECT 0, e.id, e.dependency_type, '', '', NULL, e.created_at, e.created_at, e.upstream_asset_id, e.downstream_asset_id
FROM nodes n JOIN asset_dependencies e ON e.upstream_asset_id = n.id
WHERE n.depth < $2`

// lineageEdgesQuery runs lineageEdgesSQL and reads every row, returning
// how many nodes (root included) and edges it read.
func (b *baseline) lineageEdgesQuery(ctx context.Context, root uuid.UUID, depth int) (nodes, edges int, err error) {
	rows, err := b.owner.Query(ctx, lineageEdgesSQL, root, depth)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d        int
			a        baselineAsset
			up, down *uuid.UUID
		)
		if err := rows.Scan(&d, &a.ID, &a.Name, &a.Type, &a.Owner, &a.Tags, &a.CreatedAt, &a.UpdatedAt, &up, &down); err != nil {
			return 0, 0, err
		}
		if up != nil {
			edges++
		} else {
			nodes++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("lineage query with edges: %w", err)
	}
	return nodes, edges, nil
}
