package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3PartSize is the multipart part size: large parts are uploaded in
// 16 MiB pieces, at most s3Concurrency at a time, so a backup part of any
// size needs at most 16 MiB × s3Concurrency of memory.
const (
	s3PartSize    = 16 << 20
	s3Concurrency = 3
)

type s3Store struct {
	client   *s3.Client
	uploader *manager.Uploader
	loc      Location
}

// NewS3Store returns a Store over an S3 (or S3-compatible) bucket and prefix.
func NewS3Store(client *s3.Client, loc Location) Store {
	return &s3Store{
		client: client,
		uploader: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = s3PartSize
			u.Concurrency = s3Concurrency
		}),
		loc: loc,
	}
}

func (s *s3Store) String() string { return s.loc.String() }

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader) error {
	_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.loc.Bucket),
		Key:    aws.String(s.loc.Prefix + key),
		Body:   r,
	})
	if err != nil {
		return fmt.Errorf("uploading s3://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	return nil
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.loc.Bucket),
		Key:    aws.String(s.loc.Prefix + key),
	})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) || isAPIError(err, "NotFound", "NoSuchKey") {
			err = fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, ObjectInfo{}, fmt.Errorf("reading s3://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	info := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), Version: strings.Trim(aws.ToString(out.ETag), `"`)}
	if out.LastModified != nil {
		info.Updated = *out.LastModified
	}
	return out.Body, info, nil
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var objs []ObjectInfo
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.loc.Bucket),
		Prefix: aws.String(s.loc.Prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, prefix, err)
		}
		for _, o := range page.Contents {
			info := ObjectInfo{
				Key:     strings.TrimPrefix(aws.ToString(o.Key), s.loc.Prefix),
				Size:    aws.ToInt64(o.Size),
				Version: strings.Trim(aws.ToString(o.ETag), `"`),
			}
			if o.LastModified != nil {
				info.Updated = *o.LastModified
			}
			objs = append(objs, info)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.loc.Bucket),
		Key:    aws.String(s.loc.Prefix + key),
	})
	if err != nil && !isAPIError(err, "NoSuchKey", "NotFound") {
		return fmt.Errorf("deleting s3://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	return nil
}

func isAPIError(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
