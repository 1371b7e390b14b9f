package headtransform

import (
	"errors"
	"io"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

func stringsReader(s string) io.ReadSeeker { return strings.NewReader(s) }

func errorStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
