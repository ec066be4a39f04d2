# Sourced by the CI checks that start a server: free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  for _ in $(seq 1 50); do
    local candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "FAILED: no free port found" >&2
  exit 1
}
