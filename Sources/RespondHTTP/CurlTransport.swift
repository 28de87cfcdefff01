import CCurl
import RespondCore
