package main

import (
	"context"
	"fmt"
	"log/slog"

	"fleettasks/config"
	"fleettasks/device/sim"
	"fleettasks/models"
)

// registerSimulated creates the product, if missing, and those of the
// devices <prefix>1..<prefix>N that are missing; with --rotate-unknown it
// also gives a new secret to those that exist but are not in known. It
// returns the devices created or given a secret, with their secrets.
func registerSimulated(ctx context.Context, cfg *config.Config, log *slog.Logger, f *simulateFlags, known map[string]string) ([]models.Device, error) {
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if cfg.AutoMigrate {
		if err := applyMigrations(ctx, db, log); err != nil {
			return nil, err
		}
	}
	reg := models.NewRegistry(db, models.WithDeviceSecretKey(cfg.Secret))
	if _, err := reg.GetProduct(ctx, f.product); models.IsNotFound(err) {
		_, err = reg.CreateProduct(ctx, models.ProductInput{ProductKey: f.product, Name: f.product,
			Description: "created by fleettasks simulate"})
		if e, ok := models.AsError(err); ok && e.Kind == models.KindConflict {
			err = nil // created meanwhile by someone else
		}
		if err != nil {
			return nil, fmt.Errorf("register product %s: %w", f.product, err)
		}
		log.Info("simulate: product created", "product", f.product)
	} else if err != nil {
		return nil, fmt.Errorf("register product %s: %w", f.product, err)
	}
	have, err := existingDevices(ctx, reg, f.product, f.prefix)
	if err != nil {
		return nil, fmt.Errorf("register devices of %s: %w", f.product, err)
	}
	var missing, unknown []string
	for i := 1; i <= f.devices; i++ {
		switch dn := sim.DeviceName(f.prefix, i); {
		case !have[dn]:
			missing = append(missing, dn)
		case f.rotate && known[dn] == "":
			unknown = append(unknown, dn)
		}
	}
	var created []models.Device
	for _, dn := range unknown {
		secret, err := reg.RotateDeviceSecret(ctx, f.product, dn)
		if err != nil {
			return nil, fmt.Errorf("new secret for %s/%s: %w", f.product, dn, err)
		}
		created = append(created, models.Device{ProductKey: f.product, DeviceName: dn, Secret: secret})
	}
	if len(unknown) > 0 {
		log.Info("simulate: devices whose secret was unknown were given a new one", "product", f.product, "devices", len(unknown))
	}
	for len(missing) > 0 {
		batch := missing[:min(len(missing), models.MaxDevicesPerCall)]
		ds, err := reg.CreateDevices(ctx, f.product, batch)
		if err != nil {
			return nil, fmt.Errorf("register devices of %s: %w", f.product, err)
		}
		created = append(created, ds...)
		missing = missing[len(batch):]
	}
	log.Info("simulate: devices registered", "product", f.product, "devices", f.devices, "created", len(created))
	return created, nil
}

// existingDevices is the set of names of pk's devices starting with prefix.
func existingDevices(ctx context.Context, reg *models.Registry, pk, prefix string) (map[string]bool, error) {
	have := map[string]bool{}
	for page := 1; ; page++ {
		ds, total, err := reg.ListDevices(ctx, models.DeviceFilter{ProductKey: pk, Q: prefix}, models.Page{Number: page, Size: 200})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			have[d.DeviceName] = true
		}
		if len(ds) == 0 || int64(page*200) >= total {
			return have, nil
		}
	}
}
