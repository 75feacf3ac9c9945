-- The hand-over on its own (a worker's heartbeat; see fair_handover.lua for KEYS/ARGV).
return fair_hand_over_from(0, 0)
