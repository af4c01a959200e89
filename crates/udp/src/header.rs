//! podnet's UDP encapsulation header: 4 bytes in front of the inner IPv4 packet.
//!
//! ```text
//!  0       1       2       3
//! +-------+-------+-------+-------+
//! |  'p'  |  'n'  |version| flags |   magic 0x706e, version 1, flags 0 (reserved)
//! +-------+-------+-------+-------+
//! |   inner IPv4 packet ...       |
//! ```
//! Unknown versions and non-zero flags are refused, so a future format can never be misread.

/// The magic bytes, "pn".
pub const MAGIC: [u8; 2] = *b"pn";
/// The only version so far.
pub const VERSION: u8 = 1;
/// Bytes of header before the inner packet.
pub const HEADER_LEN: usize = 4;
/// Default UDP port of the backend (flannel's udp backend used 8285).
pub const DEFAULT_PORT: u16 = 8285;

/// A parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub flags: u8,
}

/// Why a header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("datagram shorter than the {HEADER_LEN}-byte header")]
    Short,
    #[error("not a podnet datagram (bad magic)")]
    Magic,
    #[error("unsupported version {0}")]
    Version(u8),
    #[error("unknown flags {0:#04x}")]
    Flags(u8),
}

impl Header {
    pub const CURRENT: Header = Header {
        version: VERSION,
        flags: 0,
    };

    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf`.
    pub fn write(&self, buf: &mut [u8; HEADER_LEN]) {
        buf[0] = MAGIC[0];
        buf[1] = MAGIC[1];
        buf[2] = self.version;
        buf[3] = self.flags;
    }

    /// Parses the header at the start of a datagram.
    pub fn parse(datagram: &[u8]) -> Result<Header, HeaderError> {
        let h = datagram.get(..HEADER_LEN).ok_or(HeaderError::Short)?;
        if h[..2] != MAGIC {
            return Err(HeaderError::Magic);
        }
        if h[2] != VERSION {
            return Err(HeaderError::Version(h[2]));
        }
        if h[3] != 0 {
            return Err(HeaderError::Flags(h[3]));
        }
        Ok(Header {
            version: h[2],
            flags: h[3],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes_round_trip() {
        let mut b = [0u8; HEADER_LEN];
        Header::CURRENT.write(&mut b);
        assert_eq!(b, [0x70, 0x6e, 0x01, 0x00]);
        assert_eq!(Header::parse(&b), Ok(Header::CURRENT));
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(Header::parse(&[0x70, 0x6e, 1]), Err(HeaderError::Short));
        assert_eq!(Header::parse(&[0, 0, 1, 0]), Err(HeaderError::Magic));
        assert_eq!(
            Header::parse(&[0x70, 0x6e, 2, 0]),
            Err(HeaderError::Version(2))
        );
        assert_eq!(
            Header::parse(&[0x70, 0x6e, 1, 0x80]),
            Err(HeaderError::Flags(0x80))
        );
    }
}
