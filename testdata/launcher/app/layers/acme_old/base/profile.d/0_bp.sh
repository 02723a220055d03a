echo "sourced bp profile"
export FROM_PROFILE=bp-profile
