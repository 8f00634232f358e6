package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol/signin"
)

// Sign-ins arriving together share look-ups, and each gets its own
// device's answer: its secret, unknown device, or no secret.
func TestBatchedSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := models.NewRegistry(testenv.DB(t), models.WithDeviceSecretKey([]byte("broker-tests-server-secret")))
	pk := testenv.Prefix(t)
	if _, err := reg.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: pk}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("d%d", i))
	}
	devs, err := reg.CreateDevices(ctx, pk, names)
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(reg)
	defer b.close()
	const rounds = 3
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(devs)+1)
	for range rounds {
		for _, d := range devs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := b.DeviceSecret(ctx, pk, d.DeviceName); err != nil || got != d.Secret {
					errs <- fmt.Errorf("%s: %v", d.DeviceName, err)
				}
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := b.DeviceSecret(ctx, pk, "ghost"); !errors.Is(err, signin.ErrUnknownDevice) {
			errs <- fmt.Errorf("an unknown device: %v", err)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls := int64(rounds*len(devs) + 1)
	if n := b.batches.Load(); n >= calls/2 {
		t.Errorf("%d sign-ins took %d look-ups: not batched", calls, n)
	}
	t.Logf("%d sign-ins, %d look-ups", calls, b.batches.Load())
}
