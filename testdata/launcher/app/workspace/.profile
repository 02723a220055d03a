echo "sourced app profile"
export APP_PROFILE_VAR=app
