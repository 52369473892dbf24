package service

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// MaxFields caps the fields of one dataset version.
const MaxFields = 2000

// ownAsset returns the tenant's own asset: a global one has no versions or
// column edges (both are tenant rows).
func (s *Service) ownAsset(ctx context.Context, id uuid.UUID) (*domain.Asset, error) {
	a, err := s.store.AssetGet(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.IsGlobal() {
		return nil, forbiddenGlobal("assets")
	}
	return a, nil
}

// RecordAssetVersion records fields as the asset's version when no version
// of it has exactly these fields (names, types and descriptions, in
// order), tied to the run that produced it (nil for a schema seen on an
// input). It returns the version and whether it is new.
func (s *Service) RecordAssetVersion(ctx context.Context, assetID uuid.UUID, fields []domain.Field, run *uuid.UUID) (*domain.AssetVersion, bool, error) {
	if len(fields) > MaxFields {
		return nil, false, domain.Invalid("fields", "at most %d fields", MaxFields)
	}
	if fields == nil {
		fields = []domain.Field{}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, false, fmt.Errorf("encode fields: %w", err)
	}
	sum := sha256.Sum256(b)
	v := domain.AssetVersion{AssetID: assetID, Fields: fields, FieldsHash: hex.EncodeToString(sum[:]), RunID: run}
	created, err := s.store.AssetVersionRecord(ctx, &v)
	if err != nil {
		return nil, false, err
	}
	return &v, created, nil
}

// AssetVersions lists an asset's versions, newest first.
func (s *Service) AssetVersions(ctx context.Context, assetID uuid.UUID) ([]domain.AssetVersion, error) {
	var out []domain.AssetVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.AssetGet(ctx, assetID); err != nil {
			return err
		}
		var err error
		out, err = s.store.AssetVersionList(ctx, assetID)
		return err
	})
	return out, err
}

// AssetVersion returns one version of an asset.
func (s *Service) AssetVersion(ctx context.Context, assetID uuid.UUID, version int) (*domain.AssetVersion, error) {
	if version < 1 {
		return nil, domain.Invalid("version", "must be a positive integer")
	}
	return s.store.AssetVersionGet(ctx, assetID, version)
}

// AddColumnEdge stores a column edge unless the same edge (ends and
// transformation) exists; it returns the edge and whether it is new.
func (s *Service) AddColumnEdge(ctx context.Context, e domain.ColumnEdge) (*domain.ColumnEdge, bool, error) {
	if err := e.Validate(); err != nil {
		return nil, false, err
	}
	if prior, err := s.store.ColumnEdgeFind(ctx, &e); err == nil {
		return prior, false, nil
	} else if !errors.Is(err, domain.ErrNotFound) {
		return nil, false, err
	}
	if err := s.store.ColumnEdgeCreate(ctx, &e); err != nil {
		return nil, false, err
	}
	return &e, true, nil
}

// CreateColumnDependency records a manual column edge between two of the
// tenant's assets. The same edge twice is ErrConflict.
func (s *Service) CreateColumnDependency(ctx context.Context, e domain.ColumnEdge) (*domain.ColumnEdge, error) {
	e.Source = domain.ColumnSourceManual
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var out *domain.ColumnEdge
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		for _, id := range []uuid.UUID{e.UpstreamAssetID, e.DownstreamAssetID} {
			if _, err := s.ownAsset(ctx, id); err != nil {
				return err
			}
		}
		if _, err := s.store.ColumnEdgeFind(ctx, &e); err == nil {
			return fmt.Errorf("%w: this column dependency exists", domain.ErrConflict)
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if err := s.store.ColumnEdgeCreate(ctx, &e); err != nil {
			return err
		}
		out = &e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetColumnDependency returns one column edge.
func (s *Service) GetColumnDependency(ctx context.Context, id uuid.UUID) (*domain.ColumnEdge, error) {
	e, err := s.store.ColumnEdgeGet(ctx, id)
	return e, notFound(err, "column dependency", id)
}

// DeleteColumnDependency deletes one column edge.
func (s *Service) DeleteColumnDependency(ctx context.Context, id uuid.UUID) error {
	return notFound(s.store.ColumnEdgeDelete(ctx, id), "column dependency", id)
}

// ColumnLineage answers q: the columns upstream (through the edges
// entering each) and downstream (through the edges leaving it) of one
// column of one of the tenant's assets, each once at its shortest
// distance, within q.MaxDepth hops, in one statement. A column the asset's
// latest version does not hold and no edge names is ErrNotFound. Nodes
// come by depth, upstream first, then by asset name and column; edges
// oldest first.
func (s *Service) ColumnLineage(ctx context.Context, q domain.ColumnLineageQuery) (*domain.ColumnLineage, error) {
	var v domain.Validator
	if q.Direction == "" {
		q.Direction = domain.Both
	}
	v.Check(q.Direction.Valid(), "direction", "must be upstream, downstream or both")
	v.Check(q.MaxDepth >= 0 && q.MaxDepth <= domain.MaxLineageDepth, "depth", "must be between 1 and %d", domain.MaxLineageDepth)
	n := utf8.RuneCountInString(q.Column)
	v.Check(n >= 1 && n <= domain.MaxColumnLen, "column", "must be 1 to %d characters", domain.MaxColumnLen)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if q.MaxDepth == 0 {
		q.MaxDepth = domain.DefaultLineageDepth
	}
	var out *domain.ColumnLineage
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.ownAsset(ctx, q.Asset); err != nil {
			return err
		}
		known, err := s.columnKnown(ctx, q.Asset, q.Column)
		if err != nil {
			return err
		}
		if !known {
			return errNotFound("column")
		}
		out, err = s.store.ColumnLineageWalk(ctx, q, domain.MaxColumnNodes)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out.Nodes, func(a, b domain.ColumnNode) int {
		if c := cmp.Compare(a.Depth, b.Depth); c != 0 {
			return c
		}
		if a.Direction != b.Direction {
			return -strings.Compare(string(a.Direction), string(b.Direction))
		}
		if c := strings.Compare(a.AssetName, b.AssetName); c != 0 {
			return c
		}
		return strings.Compare(a.Column, b.Column)
	})
	slices.SortFunc(out.Edges, func(a, b domain.ColumnEdge) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// columnKnown reports whether the asset's latest version holds the column,
// or an edge names it.
func (s *Service) columnKnown(ctx context.Context, asset uuid.UUID, column string) (bool, error) {
	versions, err := s.store.AssetVersionList(ctx, asset)
	if err != nil {
		return false, err
	}
	if len(versions) > 0 && slices.ContainsFunc(versions[0].Fields, func(f domain.Field) bool { return f.Name == column }) {
		return true, nil
	}
	return s.store.ColumnHasEdges(ctx, asset, column)
}
