echo "sourced legacy profile for $0"
