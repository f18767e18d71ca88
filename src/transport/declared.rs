//! Frame lengths as the client declares them. actix-http checks a frame's
//! size only once the whole frame is buffered, and our read-ahead window
//! stops reading long before a large frame is complete, so an oversized
//! frame would never be refused: the connection would hang until the
//! heartbeat. Reading each frame header (RFC 6455 §5.2) as the bytes go by
//! lets the socket refuse it with 1009 as soon as its header arrives.

/// The longest frame header: 2 bytes, 8 of extended length, 4 of mask.
const MAX_HEADER: usize = 14;

/// A header declared a payload larger than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversized {
    pub declared: u64,
}

/// Follows the frame boundaries of a client's byte stream.
#[derive(Debug)]
pub struct DeclaredLengths {
    max_payload: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Reading a header: its bytes so far.
    Header {
        bytes: [u8; MAX_HEADER],
        have: usize,
    },
    /// Inside a payload: bytes still to come.
    Payload { remaining: u64 },
}

const NEW_HEADER: State = State::Header {
    bytes: [0; MAX_HEADER],
    have: 0,
};

impl DeclaredLengths {
    pub fn new(max_payload: usize) -> Self {
        DeclaredLengths {
            max_payload: max_payload as u64,
            state: NEW_HEADER,
        }
    }

    /// Takes the next bytes of the stream; fails at the first header that
    /// declares more than the cap.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Oversized> {
        while !chunk.is_empty() {
            match &mut self.state {
                State::Payload { remaining } => {
                    let skip = (*remaining).min(chunk.len() as u64);
                    *remaining -= skip;
                    // `skip` is at most `chunk.len()`.
                    chunk = &chunk[skip as usize..];
                    if *remaining == 0 {
                        self.state = NEW_HEADER;
                    }
                }
                State::Header { bytes, have } => {
                    bytes[*have] = chunk[0];
                    *have += 1;
                    chunk = &chunk[1..];
                    if let Some(declared) = complete_header(&bytes[..*have]) {
                        if declared > self.max_payload {
                            return Err(Oversized { declared });
                        }
                        self.state = match declared {
                            0 => NEW_HEADER,
                            remaining => State::Payload { remaining },
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

/// The payload length, once `header` holds the whole header.
fn complete_header(header: &[u8]) -> Option<u64> {
    let second = *header.get(1)?;
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let (extended, length) = match second & 0x7f {
        126 => (
            2,
            u64::from(u16::from_be_bytes([*header.get(2)?, *header.get(3)?])),
        ),
        127 => {
            let mut length = [0u8; 8];
            length.copy_from_slice(header.get(2..10)?);
            (8, u64::from_be_bytes(length))
        }
        short => (0, u64::from(short)),
    };
    (header.len() == 2 + extended + mask).then_some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header declaring `length`.
    fn header(length: u64) -> Vec<u8> {
        let mut bytes = vec![0x82];
        match length {
            0..=125 => bytes.push(0x80 | length as u8),
            126..=65_535 => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(length as u16).to_be_bytes());
            }
            _ => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&length.to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes
    }

    fn frame(length: usize) -> Vec<u8> {
        let mut bytes = header(length as u64);
        bytes.resize(bytes.len() + length, b'x');
        bytes
    }

    #[test]
    fn frames_up_to_the_cap_pass_whatever_their_length_encoding() {
        let mut lengths = DeclaredLengths::new(70_000);
        for length in [0, 1, 125, 126, 65_535, 65_536, 70_000] {
            assert_eq!(lengths.feed(&frame(length)), Ok(()), "{length}");
        }
    }

    #[test]
    fn a_header_over_the_cap_is_refused_before_its_payload() {
        for length in [65_537, 10_000_000, u64::MAX] {
            let mut lengths = DeclaredLengths::new(65_536);
            assert_eq!(
                lengths.feed(&header(length)),
                Err(Oversized { declared: length })
            );
        }
    }

    #[test]
    fn headers_split_across_chunks_are_followed() {
        let mut stream = frame(300);
        stream.extend(frame(5));
        stream.extend(header(1 << 20));
        let mut lengths = DeclaredLengths::new(1000);
        let refused = stream
            .iter()
            .map(|byte| lengths.feed(std::slice::from_ref(byte)))
            .position(|step| step.is_err());
        assert_eq!(
            refused,
            Some(stream.len() - 1),
            "refused at the last header byte"
        );
    }
}
