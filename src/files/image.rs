//! Raster images: dimensions read from the header first, refused above the
//! pixel budget before anything is decoded; then decoded under `image`'s
//! own limits and written again, which leaves every metadata block (EXIF
//! with its GPS position, comments, colour profiles) behind.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, ImageReader};

use super::{Processed, Refused, THUMBNAIL_SIDE};

/// JPEG quality of re-encoded photos and thumbnails.
const JPEG_QUALITY: u8 = 85;

pub fn reencode(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> Result<Processed, Refused> {
    let bad = |e: image::ImageError| Refused::BadImage(e.to_string());
    let (width, height) = reader(bytes, format, max_pixels)
        .into_dimensions()
        .map_err(bad)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(Refused::TooManyPixels {
            width,
            height,
            max: max_pixels,
        });
    }
    let img = reader(bytes, format, max_pixels).decode().map_err(bad)?;
    // Photos stay JPEG; everything else (with its transparency) is PNG, so
    // an animated GIF keeps its first frame.
    let (mime, out) = if format == ImageFormat::Jpeg {
        ("image/jpeg", jpeg(&img).map_err(bad)?)
    } else {
        ("image/png", png(&img).map_err(bad)?)
    };
    // `thumbnail` would also enlarge a small image: those stay as they are.
    let fits = width <= THUMBNAIL_SIDE && height <= THUMBNAIL_SIDE;
    let small = if fits {
        None
    } else {
        Some(img.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    };
    let small = small.as_ref().unwrap_or(&img);
    let thumbnail = if format == ImageFormat::Jpeg {
        jpeg(small)
    } else {
        png(small)
    }
    .map_err(bad)?;
    Ok(Processed {
        mime,
        data: out,
        thumbnail: Some(thumbnail),
        size: Some((width, height)),
    })
}

fn reader(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // Eight bytes a pixel covers 16-bit RGBA; the decoder stops there
    // whatever the header claimed.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    reader
}

fn jpeg(img: &DynamicImage) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    img.to_rgb8().write_with_encoder(encoder)?;
    Ok(out)
}

fn png(img: &DynamicImage) -> image::ImageResult<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32) -> Vec<u8> {
        png(&DynamicImage::new_rgb8(width, height)).unwrap_or_default()
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn images_get_a_bounded_thumbnail() {
        let done = reencode(&png_of(1000, 500), ImageFormat::Png, 1_000_000);
        let done = done.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done.size, Some((1000, 500)));
        let thumb = image::load_from_memory(&done.thumbnail.unwrap_or_default());
        let thumb = thumb.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        let done = reencode(&png_of(200, 120), ImageFormat::Png, 1_000_000);
        let thumb = done.ok().and_then(|d| d.thumbnail).unwrap_or_default();
        let thumb = image::load_from_memory(&thumb).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (thumb.width(), thumb.height()),
            (200, 120),
            "never enlarged"
        );
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // A tiny PNG whose header claims 20000×20000 pixels.
        let mut bomb = png_of(1, 1);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            reencode(&bomb, ImageFormat::Png, 25_000_000),
            Err(Refused::TooManyPixels { .. })
        ));
    }
}
