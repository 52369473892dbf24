// Package checks owns data-quality checks: their definitions on a tenant's
// assets (created one by one or synced per asset, as the servo SDK deploys
// them), the results steps report for each attempt of a run, and the rule
// that a failed blocking check fails the attempt that reported it.
//
// Servo never evaluates a check itself: the step that builds the asset does,
// on data Servo never sees, and reports the outcome.
package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// Store is what the checks need from storage.
type Store interface {
	domain.Transactor
	domain.CheckRepository
	domain.AssetRepository
	domain.RunRepository
}

// Service holds the use cases of checks over one store.
type Service struct {
	store   Store
	metrics *Metrics
	now     func() time.Time
}

// New returns the checks service over store.
func New(store Store) *Service {
	return &Service{store: store, metrics: newMetrics(), now: func() time.Time { return time.Now().UTC() }}
}

// Metrics returns the service's Prometheus collectors.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Input describes a check to create, or one entry of a sync.
type Input struct {
	// Asset names the asset by UUID or name; a sync fills it from its path.
	Asset       string
	Name        string
	Description string
	// Type is the check type object as sent.
	Type     json.RawMessage
	Severity string
	// Blocking and Enabled default to true when nil.
	Blocking *bool
	Enabled  *bool
	Tags     []string
	Owner    string
}

// build validates in into a check of asset.
func (in Input) build(asset *domain.Asset) (domain.Check, error) {
	c := domain.Check{
		AssetID: asset.ID, AssetName: asset.Name, Name: in.Name, Description: in.Description,
		Severity: domain.Severity(in.Severity), Blocking: true, Enabled: true, Tags: in.Tags, Owner: in.Owner,
	}
	if in.Blocking != nil {
		c.Blocking = *in.Blocking
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	c.Normalize()
	ct, typeErr := domain.ParseCheckType(in.Type)
	c.Type = ct
	err := c.Validate()
	if typeErr != nil {
		// ParseCheckType has said what is wrong with check_type.
		err = withoutField(err, "check_type")
	}
	if err := mergeValidation(typeErr, err); err != nil {
		return domain.Check{}, err
	}
	return c, nil
}

// withoutField drops field from a validation error.
func withoutField(err error, field string) error {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var v domain.Validator
	for k, m := range ve.Fields {
		if k != field {
			v.Add(k, "%s", m)
		}
	}
	return v.Err()
}

// mergeValidation joins validation errors into one; nil errors are
// skipped, and an error of another kind is returned as it is.
func mergeValidation(errs ...error) error {
	var v domain.Validator
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *domain.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		for k, m := range ve.Fields {
			v.Add(k, "%s", m)
		}
	}
	return v.Err()
}

// resolveAsset finds an asset by UUID or name, as the asset routes do.
func (s *Service) resolveAsset(ctx context.Context, ref string) (*domain.Asset, error) {
	if ref == "" {
		return nil, domain.Invalid("asset_id", "is required")
	}
	var a *domain.Asset
	var err error
	if id, perr := uuid.Parse(ref); perr == nil && len(ref) == 36 {
		a, err = s.store.AssetGet(ctx, id)
	} else {
		a, err = s.store.AssetGetByName(ctx, ref)
	}
	return a, domain.NameNotFound(err, "asset", ref)
}

// ResolveAsset finds an asset by UUID or name.
func (s *Service) ResolveAsset(ctx context.Context, ref string) (*domain.Asset, error) {
	return s.resolveAsset(ctx, ref)
}

// Create validates and stores a check. An asset the caller cannot see is
// ErrNotFound; a name the asset already has is ErrConflict.
func (s *Service) Create(ctx context.Context, in Input) (*domain.Check, error) {
	if in.Asset == "" {
		errs := []error{domain.Invalid("asset_id", "is required")}
		if _, err := in.build(&domain.Asset{}); err != nil {
			errs = append(errs, err)
		}
		return nil, mergeValidation(errs...)
	}
	asset, err := s.resolveAsset(ctx, in.Asset)
	if err != nil {
		return nil, err
	}
	c, err := in.build(asset)
	if err != nil {
		return nil, err
	}
	if err := s.store.CheckCreate(ctx, &c); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return nil, fmt.Errorf("%w: asset %s already has a check named %q", domain.ErrConflict, asset.Name, c.Name)
		}
		return nil, err
	}
	return &c, nil
}

// Get returns a check with its asset's name.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*domain.Check, error) {
	c, err := s.store.CheckGet(ctx, id)
	if err != nil {
		return nil, domain.NameNotFound(err, "check", id.String())
	}
	if err := s.nameAssets(ctx, []*domain.Check{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// nameAssets fills AssetName on cs.
func (s *Service) nameAssets(ctx context.Context, cs []*domain.Check) error {
	var ids []uuid.UUID
	for _, c := range cs {
		if !slices.Contains(ids, c.AssetID) {
			ids = append(ids, c.AssetID)
		}
	}
	assets, err := s.store.AssetGetMany(ctx, ids)
	if err != nil {
		return err
	}
	names := make(map[uuid.UUID]string, len(assets))
	for _, a := range assets {
		names[a.ID] = a.Name
	}
	for _, c := range cs {
		c.AssetName = names[c.AssetID]
	}
	return nil
}

// List returns one page of checks matching f.
func (s *Service) List(ctx context.Context, f domain.CheckFilter, p domain.Page) (domain.List[domain.Check], error) {
	if err := p.Normalize(); err != nil {
		return domain.List[domain.Check]{}, err
	}
	if f.Severity != "" && !f.Severity.Valid() {
		return domain.List[domain.Check]{}, domain.Invalid("severity", "must be one of error, warning, info")
	}
	list, err := s.store.CheckList(ctx, f, p)
	if err != nil {
		return list, err
	}
	ptrs := make([]*domain.Check, len(list.Items))
	for i := range list.Items {
		ptrs[i] = &list.Items[i]
	}
	return list, s.nameAssets(ctx, ptrs)
}

// ForAsset returns the asset and every check of it, by name.
func (s *Service) ForAsset(ctx context.Context, ref string) (*domain.Asset, []domain.Check, error) {
	asset, err := s.resolveAsset(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	cs, err := s.store.CheckListForAsset(ctx, asset.ID)
	if err != nil {
		return nil, nil, err
	}
	for i := range cs {
		cs[i].AssetName = asset.Name
	}
	return asset, cs, nil
}

// Patch is a partial update as sent: Asset (a UUID or name) and TypeJSON
// (the check type object) are resolved and validated here.
type Patch struct {
	Asset    *string
	TypeJSON json.RawMessage
	domain.CheckPatch
}

// Update applies p to a check; check, when not nil, runs on the current row
// first (an HTTP If-Match) and may refuse the change.
func (s *Service) Update(ctx context.Context, id uuid.UUID, p Patch, check func(*domain.Check) error) (*domain.Check, error) {
	var v domain.Validator
	if len(p.TypeJSON) > 0 {
		ct, err := domain.ParseCheckType(p.TypeJSON)
		if err != nil {
			return nil, err
		}
		p.CheckPatch.Type = &ct
	}
	if p.Asset != nil {
		asset, err := s.resolveAsset(ctx, *p.Asset)
		if errors.Is(err, domain.ErrNotFound) {
			v.Add("asset_id", "no such asset")
		} else if err != nil {
			return nil, err
		} else {
			p.AssetID = &asset.ID
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.store.CheckUpdate(ctx, id, func(c *domain.Check) error {
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		p.Apply(c)
		return c.Validate()
	})
	if errors.Is(err, domain.ErrConflict) {
		return nil, fmt.Errorf("%w: the asset already has a check of that name", domain.ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	if err := s.nameAssets(ctx, []*domain.Check{out}); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete removes a check; its results stay, without a check id.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	return domain.NameNotFound(s.store.CheckDelete(ctx, id), "check", id.String())
}

// SyncResult names the checks a sync created, updated, left unchanged and
// deleted.
type SyncResult struct {
	Created   []string
	Updated   []string
	Unchanged []string
	Deleted   []string
}

// Sync makes an asset's checks match ins, matched by name, in one
// transaction: new names are created, changed ones updated, and with prune
// the asset's checks not named are deleted. A name given twice is invalid.
func (s *Service) Sync(ctx context.Context, assetRef string, ins []Input, prune bool) (*SyncResult, error) {
	res := &SyncResult{Created: []string{}, Updated: []string{}, Unchanged: []string{}, Deleted: []string{}}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		asset, err := s.resolveAsset(ctx, assetRef)
		if err != nil {
			return err
		}
		var v domain.Validator
		wanted := make([]domain.Check, len(ins))
		seen := map[string]int{}
		for i, in := range ins {
			if in.Asset != "" && in.Asset != asset.ID.String() && in.Asset != asset.Name {
				v.Add(fmt.Sprintf("checks[%d].asset_id", i), "must be the asset of the path or absent")
			}
			c, err := in.build(asset)
			var ve *domain.ValidationError
			if errors.As(err, &ve) {
				for k, m := range ve.Fields {
					v.Add(fmt.Sprintf("checks[%d].%s", i, k), "%s", m)
				}
				continue
			} else if err != nil {
				return err
			}
			if j, dup := seen[c.Name]; dup {
				v.Add(fmt.Sprintf("checks[%d].name", i), "repeats the name of checks[%d]", j)
			}
			seen[c.Name] = i
			wanted[i] = c
		}
		if err := v.Err(); err != nil {
			return err
		}
		existing, err := s.store.CheckListForAsset(ctx, asset.ID)
		if err != nil {
			return err
		}
		byName := make(map[string]domain.Check, len(existing))
		for _, c := range existing {
			byName[c.Name] = c
		}
		for _, w := range wanted {
			cur, ok := byName[w.Name]
			switch {
			case !ok:
				c := w
				if err := s.store.CheckCreate(ctx, &c); err != nil {
					return err
				}
				res.Created = append(res.Created, w.Name)
			case sameDefinition(cur, w):
				res.Unchanged = append(res.Unchanged, w.Name)
			default:
				if _, err := s.store.CheckUpdate(ctx, cur.ID, func(c *domain.Check) error {
					c.Description, c.Type, c.Severity, c.Blocking = w.Description, w.Type, w.Severity, w.Blocking
					c.Enabled, c.Tags, c.Owner = w.Enabled, w.Tags, w.Owner
					return nil
				}); err != nil {
					return err
				}
				res.Updated = append(res.Updated, w.Name)
			}
		}
		if prune {
			for _, c := range existing {
				if _, keep := seen[c.Name]; keep {
					continue
				}
				if err := s.store.CheckDelete(ctx, c.ID); err != nil {
					return err
				}
				res.Deleted = append(res.Deleted, c.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// sameDefinition reports whether a stored check already says what w says.
func sameDefinition(cur, w domain.Check) bool {
	if cur.Description != w.Description || cur.Severity != w.Severity || cur.Blocking != w.Blocking ||
		cur.Enabled != w.Enabled || cur.Owner != w.Owner || !slices.Equal(cur.Tags, w.Tags) {
		return false
	}
	var a, b any
	if json.Unmarshal(cur.Type.Raw, &a) != nil || json.Unmarshal(w.Type.Raw, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
