-- wrk script: GET with the bearer token from the TOKEN environment variable.
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
end
