package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
)

// withService opens the configured database and runs fn with the use cases
// in the system scope. An SQLite file is migrated first, as serve does, so
// that keys can be made before the first start.
func (a *app) withService(ctx context.Context, fn func(ctx context.Context, svc *service.Service) error) error {
	cfg, log, err := a.setup()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if repository.DialectOf(cfg.Database.URL) == repository.SQLite {
		if err := migrateSQLite(ctx, cfg.Database, log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))); err != nil {
			return err
		}
	}
	store, err := repository.Open(ctx, cfg.Database.URL, poolConfig(cfg.Database), log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() { _ = store.Close() }()
	return fn(domain.WithSystem(ctx), service.New(store, nil, nil))
}

func newTenantsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "tenants", Short: "Create and list tenants", Args: cobra.NoArgs}
	var name string
	create := &cobra.Command{
		Use:   "create ID",
		Short: "Create a tenant (ID: lowercase letters, digits, - and _)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(ctx context.Context, svc *service.Service) error {
				t, err := svc.CreateTenant(ctx, domain.Tenant{ID: args[0], Name: name})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, t.ID)
				return err
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withService(cmd.Context(), func(ctx context.Context, svc *service.Service) error {
				ts, err := svc.ListTenants(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(w, "ID\tNAME\tCREATED")
				for _, t := range ts {
					_, _ = fmt.Fprintf(w, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format("2006-01-02T15:04:05Z"))
				}
				return w.Flush()
			})
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create, list and revoke API keys", Args: cobra.NoArgs}
	var tenant, name string
	create := &cobra.Command{
		Use:   "create --tenant ID [--name N]",
		Short: "Create an API key for a tenant (creating the tenant when missing); prints only the key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withService(cmd.Context(), func(ctx context.Context, svc *service.Service) error {
				secret, k, err := svc.CreateAPIKey(ctx, service.CreateAPIKeyInput{TenantID: tenant, Name: name, CreateTenant: true})
				if err != nil {
					return err
				}
				_, _ = fmt.Fprintf(a.stderr, "created key %s for tenant %s; it is shown once\n", k.ID, k.TenantID)
				_, err = fmt.Fprintln(a.stdout, secret)
				return err
			})
		},
	}
	create.Flags().StringVar(&tenant, "tenant", "", "tenant id (required)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	_ = create.MarkFlagRequired("tenant")
	var listTenant string
	list := &cobra.Command{
		Use:   "list --tenant ID",
		Short: "List a tenant's keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withService(cmd.Context(), func(ctx context.Context, svc *service.Service) error {
				ks, err := svc.ListAPIKeys(ctx, listTenant)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(w, "ID\tPREFIX\tNAME\tCREATED\tREVOKED")
				for _, k := range ks {
					revoked := "-"
					if k.RevokedAt != nil {
						revoked = k.RevokedAt.Format("2006-01-02T15:04:05Z")
					}
					_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.CreatedAt.Format("2006-01-02T15:04:05Z"), revoked)
				}
				return w.Flush()
			})
		},
	}
	list.Flags().StringVar(&listTenant, "tenant", "", "tenant id (required)")
	_ = list.MarkFlagRequired("tenant")
	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := service.ParseID("key_id", args[0])
			if err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(ctx context.Context, svc *service.Service) error {
				k, err := svc.RevokeAPIKey(ctx, id)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "revoked %s (tenant %s)\n", k.ID, k.TenantID)
				return err
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
