"""Examples that use Gatehouse from the outside, as a portal would."""
