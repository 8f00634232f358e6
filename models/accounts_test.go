package models_test

import (
	"context"
	"fmt"
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

// The sign-in limits hold under parallel attempts: of 100 wrong passwords
// for one account sent at once (each from its own address), exactly the
// account's limit (5) get their password checked and 401, the rest 429; of
// 100 attempts from one address at 100 accounts at once, exactly the
// address's limit (20).
func TestLoginThrottleParallel(t *testing.T) {
	a := newAccounts(t)
	ctx := context.Background()
	if _, err := a.CreateUser(ctx, models.UserInput{Email: "victim@example.com", Role: "operator", Password: "the right password"}); err != nil {
		t.Fatal(err)
	}
	attempt := func(n int, email, ip func(i int) string) (ok, bad, many int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := a.Login(ctx, email(i), "a wrong guess", ip(i))
				mu.Lock()
				defer mu.Unlock()
				switch e, isErr := models.AsError(err); {
				case err == nil:
					ok++
				case isErr && e.Kind == models.KindTooMany:
					many++
				case err == models.ErrBadLogin:
					bad++
				default:
					t.Errorf("attempt %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		return
	}
	victim := func(int) string { return "victim@example.com" }
	own := func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250) }
	if ok, bad, many := attempt(100, victim, own); ok != 0 || bad != 5 || many != 95 {
		t.Fatalf("100 parallel wrong passwords for one account: %d signed in, %d checked and wrong, %d refused; want 0, 5, 95", ok, bad, many)
	}
	anyone := func(i int) string { return fmt.Sprintf("nobody%d@example.com", i) }
	one := func(int) string { return "10.9.9.9" }
	if ok, bad, many := attempt(100, anyone, one); ok != 0 || bad != 20 || many != 80 {
		t.Fatalf("100 parallel attempts from one address: %d signed in, %d checked, %d refused; want 0, 20, 80", ok, bad, many)
	}
}

// A disabled account answers the right password exactly as a wrong one, so
// that a guesser learns nothing from it.
func TestDisabledAccountSameAnswer(t *testing.T) {
	a := newAccounts(t)
	ctx := context.Background()
	if _, err := a.CreateUser(ctx, models.UserInput{Email: "admin@example.com", Role: "admin", Password: "the admin password"}); err != nil {
		t.Fatal(err)
	}
	u, err := a.CreateUser(ctx, models.UserInput{Email: "gone@example.com", Role: "operator", Password: "the right password"})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, _, err := a.UpdateUser(ctx, u.ID, models.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	_, _, right := a.Login(ctx, "gone@example.com", "the right password", "10.1.1.1")
	_, _, wrong := a.Login(ctx, "gone@example.com", "a wrong password", "10.1.1.2")
	if right != models.ErrBadLogin || wrong != models.ErrBadLogin {
		t.Fatalf("disabled account: right password %v, wrong password %v", right, wrong)
	}
}
