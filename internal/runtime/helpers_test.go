package runtime_test

import (
	"errors"

	"github.com/servo-data/servo/internal/domain"
)

func errorsIsInvalid(err error) bool { return errors.Is(err, domain.ErrInvalid) }
