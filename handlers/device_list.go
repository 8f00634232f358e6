package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// GET /devices?q=&productKey=&online=&page= — the device list.
func (h *console) deviceList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	online, err := queryOnline(c)
	if err != nil {
		return err
	}
	d := views.DeviceList{Q: c.Query("q"), Product: c.Query("productKey"), Online: c.Query("online"), Page: p.Number, OnlineRule: h.onlineRule()}
	devices, total, err := h.registry.ListDevices(c.UserContext(), models.DeviceFilter{ProductKey: d.Product, Q: d.Q, Online: online}, p)
	if err != nil {
		return err
	}
	if d.Products, err = h.allProducts(c); err != nil {
		return err
	}
	d.Devices, d.Total = devices, total
	d.Pages = pageCount(total, p.Size)
	d.Add = views.DeviceAdd{Products: d.Products, ProductKey: d.Product}
	return render(c, "Devices", views.DeviceListPage(d))
}

// allProducts lists the products for a product picker (the first 200).
func (h *console) allProducts(c *fiber.Ctx) ([]models.Product, error) {
	ps, _, err := h.registry.ListProducts(c.UserContext(), models.Page{Number: 1, Size: 200})
	return ps, err
}

// pageCount is how many pages of size hold total items, at least 1.
func pageCount(total int64, size int) int {
	n := int((total + int64(size) - 1) / int64(size))
	if n < 1 {
		return 1
	}
	return n
}
