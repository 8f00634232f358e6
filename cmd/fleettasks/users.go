package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"fleettasks/config"
	"fleettasks/models"
)

const usersUsage = `usage:
  fleettasks users create --email E --role admin|operator|support [--password P] [--if-absent]
  fleettasks users password --email E [--password P]
  fleettasks tokens create --email E [--name N]
without --password a random password is made and printed once`

// users is `fleettasks users create|password`: console users from the
// command line (the first admin, a forgotten password). Each change is in
// the audit log as done from the command line.
func users(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "password") {
		return fmt.Errorf("%s", usersUsage)
	}
	fs := flag.NewFlagSet("users "+args[0], flag.ContinueOnError)
	email := fs.String("email", "", "the user's email address")
	role := fs.String("role", "", "admin, operator or support")
	password := fs.String("password", "", "the password (at least 10 characters); made up when empty")
	ifAbsent := fs.Bool("if-absent", false, "do nothing when the user exists")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	acc, audit, closeDB, err := openAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	made := *password == ""
	if made {
		*password = randomPassword()
	}
	if args[0] == "password" {
		u, err := acc.UserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		if _, _, err := acc.UpdateUser(ctx, u.ID, models.UserPatch{Password: password}); err != nil {
			return err
		}
		cliAudit(ctx, audit, "user.reset_password", "user:"+u.ID.String(), nil)
		fmt.Printf("new password of %s set; its sessions are ended\n", u.Email)
	} else {
		if *ifAbsent {
			if u, err := acc.UserByEmail(ctx, *email); err == nil {
				fmt.Printf("user %s (%s) exists; reset its password with: fleettasks users password --email %s\n", u.Email, u.Role, u.Email)
				return nil
			}
		}
		u, err := acc.CreateUser(ctx, models.UserInput{Email: *email, Role: *role, Password: *password})
		if err != nil {
			return err
		}
		cliAudit(ctx, audit, "user.create", "user:"+u.ID.String(), models.Changed("email", nil, u.Email, "role", nil, u.Role))
		fmt.Printf("created %s user %s\n", u.Role, u.Email)
	}
	if made {
		fmt.Printf("password: %s\n(shown once; keep it safe)\n", *password)
	}
	return nil
}

// tokens is `fleettasks tokens create --email E`: prints a new API token
// of that user, once.
func tokens(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%s", usersUsage)
	}
	fs := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	email := fs.String("email", "", "the user the token acts for")
	name := fs.String("name", "command line", "what the token is for")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	acc, audit, closeDB, err := openAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	u, err := acc.UserByEmail(ctx, *email)
	if err != nil {
		return err
	}
	secret, t, err := acc.CreateToken(ctx, u.ID, *name)
	if err != nil {
		return err
	}
	cliAudit(ctx, audit, "token.create", "token:"+t.ID.String(), models.Changed("user", nil, u.Email, "name", nil, t.Name))
	fmt.Fprintf(os.Stderr, "API token %s for %s (%s), shown once:\n", t.Prefix, u.Email, u.Role)
	fmt.Println(secret)
	return nil
}

func openAccounts(ctx context.Context, cfg *config.Config) (*models.Accounts, *models.Audit, func(), error) {
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, err
	}
	return models.NewAccounts(db), models.NewAudit(db), db.Close, nil
}

// cliAudit records a change made from the command line.
func cliAudit(ctx context.Context, audit *models.Audit, action, target string, ch map[string]models.Change) {
	host, _ := os.Hostname()
	if err := audit.Record(ctx, models.AuditEntry{Email: "(command line)", Action: action, Target: target, SourceIP: host, Changes: ch}); err != nil {
		fmt.Fprintf(os.Stderr, "warning: %v\n", err)
	}
}

// randomPassword is 16 random bytes, URL-safe base64 (22 characters).
func randomPassword() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
