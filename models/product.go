package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Product is a kind of device; every device belongs to one.
type Product struct {
	ProductKey  string    `gorm:"column:product_key;primaryKey" json:"productKey"`
	Name        string    `gorm:"column:name" json:"name"`
	Description string    `gorm:"column:description" json:"description"`
	CreatedAt   time.Time `gorm:"column:created_at" json:"createdAt"`
	DeviceCount int64     `gorm:"-" json:"deviceCount"`
}

func (Product) TableName() string { return "products" }

// ProductInput is what a client sends to create a product.
type ProductInput struct {
	ProductKey  string `json:"productKey"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Validate checks every field and names the first bad one.
func (in ProductInput) Validate() error {
	if err := checkProductKey("productKey", in.ProductKey); err != nil {
		return err
	}
	if err := checkText("name", in.Name, 0, 128); err != nil {
		return err
	}
	return checkText("description", in.Description, 0, 1000)
}

const productColumns = `p.product_key, p.name, p.description, p.created_at,
	(SELECT count(*) FROM devices d WHERE d.product_key = p.product_key)`

func scanProduct(row pgx.Row) (Product, error) {
	var p Product
	err := row.Scan(&p.ProductKey, &p.Name, &p.Description, &p.CreatedAt, &p.DeviceCount)
	p.CreatedAt = p.CreatedAt.UTC()
	return p, err
}

// CreateProduct registers a product; its key must be new.
func (r *Registry) CreateProduct(ctx context.Context, in ProductInput) (*Product, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p := Product{ProductKey: in.ProductKey, Name: in.Name, Description: in.Description}
	err := r.db.Pool.QueryRow(ctx, `INSERT INTO products (product_key, name, description) VALUES ($1, $2, $3)
		ON CONFLICT (product_key) DO NOTHING RETURNING created_at`, in.ProductKey, in.Name, in.Description).Scan(&p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, conflictOn("productKey", "product %q already exists", in.ProductKey)
	}
	if err != nil {
		return nil, fmt.Errorf("models: create product %q: %w", in.ProductKey, err)
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// GetProduct returns the product pk with its device count.
func (r *Registry) GetProduct(ctx context.Context, pk string) (*Product, error) {
	if checkProductKey("", pk) != nil { // no such product can exist, and PostgreSQL may refuse the bytes
		return nil, NotFound("no product %q", pk)
	}
	p, err := scanProduct(r.db.Pool.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.product_key = $1`, pk))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("no product %q", pk)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get product %q: %w", pk, err)
	}
	return &p, nil
}

// ListProducts returns one page of products by key, and how many there are.
func (r *Registry) ListProducts(ctx context.Context, pg Page) ([]Product, int64, error) {
	pg = pageOf(pg)
	var total int64
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("models: count products: %w", err)
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT `+productColumns+` FROM products p
		ORDER BY p.product_key LIMIT $1 OFFSET $2`, pg.Size, pg.Offset())
	if err != nil {
		return nil, 0, fmt.Errorf("models: list products: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Product, error) { return scanProduct(row) })
	if err != nil {
		return nil, 0, fmt.Errorf("models: list products: %w", err)
	}
	return items, total, nil
}
