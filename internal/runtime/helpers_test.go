package runtime_test

import (
	"errors"
	"fmt"

	"github.com/servo-data/servo/internal/domain"
)

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }

func errorsIsInvalid(err error) bool { return errors.Is(err, domain.ErrInvalid) }
