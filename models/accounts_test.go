package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func newAccounts(t *testing.T) *models.Accounts {
	t.Parallel()
	return models.NewAccounts(testenv.DB(t), models.WithPasswordCost(bcrypt.MinCost))
}

func TestCreateUserValidation(t *testing.T) {
	a := newAccounts(t)
	ctx := context.Background()
	cases := []struct {
		in    models.UserInput
		field string
		msg   string
	}{
		{models.UserInput{Email: "", Role: "admin", Password: "long enough!"}, "email", "required"},
		{models.UserInput{Email: "not an address", Role: "admin", Password: "long enough!"}, "email", "not an email"},
		{models.UserInput{Email: "Ann <ann@example.com>", Role: "admin", Password: "long enough!"}, "email", "not an email"},
		{models.UserInput{Email: "ann@example.com", Role: "root", Password: "long enough!"}, "role", "admin, operator or support"},
		{models.UserInput{Email: "ann@example.com", Role: "admin", Password: "short"}, "password", "at least 10"},
		{models.UserInput{Email: "ann@example.com", Role: "admin", Password: strings.Repeat("x", 73)}, "password", "at most 72 bytes"},
	}
	for _, c := range cases {
		_, err := a.CreateUser(ctx, c.in)
		if e, ok := models.AsError(err); !ok || e.Field != c.field || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%+v: %v", c.in, err)
		}
	}
	u, err := a.CreateUser(ctx, models.UserInput{Email: " Ann@Example.COM ", Role: "support", Password: "long enough!"})
	if err != nil || u.Email != "ann@example.com" || u.Role != models.RoleSupport {
		t.Fatalf("create: %+v %v", u, err)
	}
	_, err = a.CreateUser(ctx, models.UserInput{Email: "ann@example.com", Role: "admin", Password: "long enough!"})
	if e, ok := models.AsError(err); !ok || e.Kind != models.KindConflict || e.Field != "email" {
		t.Fatalf("duplicate: %v", err)
	}
	// the address is matched without regard to case at sign-in
	if _, _, err := a.Login(ctx, "ANN@example.com", "long enough!", "192.0.2.9"); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// Two admins demoting each other at the same moment: one must win, so
// that an enabled admin remains.
func TestLastAdminUnderConcurrency(t *testing.T) {
	a := newAccounts(t)
	ctx := context.Background()
	var ids []models.ID
	for _, e := range []string{"a1@example.com", "a2@example.com"} {
		u, err := a.CreateUser(ctx, models.UserInput{Email: e, Role: "admin", Password: "long enough!"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	for round := 0; round < 10; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				role := "operator"
				_, _, errs[i] = a.UpdateUser(ctx, id, models.UserPatch{Role: &role})
			}()
		}
		wg.Wait()
		l, err := a.ListUsers(ctx, models.Page{Number: 1, Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, u := range l.Items {
			if u.Role == models.RoleAdmin && !u.Disabled {
				admins++
			}
		}
		if admins != 1 || (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: %d admins left, errors %v", round, admins, errs)
		}
		role := "admin"
		for _, id := range ids {
			if _, _, err := a.UpdateUser(ctx, id, models.UserPatch{Role: &role}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
