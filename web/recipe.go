package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// recipeReply is the active recipe and those an engineer may change to.
type recipeReply struct {
	Recipe  string   `json:"recipe"`
	Recipes []string `json:"recipes"`
}

func (s *Server) recipes() (Recipes, error) {
	if s.opts.Recipes == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "recipes are not served by this appliance")
	}
	return s.opts.Recipes, nil
}

func (s *Server) getRecipe(c echo.Context) error {
	r, err := s.recipes()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recipeReply{Recipe: r.Recipe(), Recipes: r.Recipes()})
}

// putRecipe changes the active recipe; the appliance swaps it in between
// two batches and audits it as the engineer who asked.
func (s *Server) putRecipe(c echo.Context) error {
	r, err := s.recipes()
	if err != nil {
		return err
	}
	var req struct {
		Recipe string `json:"recipe"`
	}
	if err := c.Bind(&req); err != nil {
		return badRequest("want {\"recipe\":\"<name>\"}: %v", err)
	}
	if strings.TrimSpace(req.Recipe) == "" {
		return badRequest("no recipe named")
	}
	if err := r.SetRecipe(req.Recipe, whoName(c)); err != nil {
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	return c.JSON(http.StatusOK, recipeReply{Recipe: r.Recipe(), Recipes: r.Recipes()})
}
